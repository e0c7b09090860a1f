"""Who may have a completion certificate for a session or a rotation cycle, and why not."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.attendance.models import ATTENDED, Attendance, AttendanceStatus
from lms.catalog.models import Course
from lms.extensions import db
from lms.org.models import Member
from lms.quizzes.attempts import counting_attempt
from lms.quizzes.models import Quiz, QuizStatus
from lms.rotation.coverage import Coverage, coverage_states, cycle_hours, population
from lms.rotation.models import RotationCycle
from lms.sessions.models import Enrollment, Lesson, TrainingSession


@dataclass
class Eligibility:
    member: Member
    eligible: bool
    hours: Decimal
    reasons: list[str] = field(default_factory=list)


def session_eligibility(session: TrainingSession) -> list[Eligibility]:
    """Per enrolled member: attended enough of the lessons' hours (lateness counts as present
    unless the session says not) and passed the session's quiz (if required and it has one)."""
    lessons = db.session.execute(
        sa.select(Lesson.id, Course.hours)
        .join(Course, Course.id == Lesson.course_id)
        .where(Lesson.session_id == session.id)
    ).all()
    total = sum((hours for _id, hours in lessons), Decimal(0))
    hours_of = dict(lessons)
    counted = set(ATTENDED) if session.late_counts else ATTENDED - {AttendanceStatus.LATE}
    attended: dict[int, Decimal] = {}
    for member_id, lesson_id in db.session.execute(
        sa.select(Attendance.member_id, Attendance.lesson_id).where(
            Attendance.lesson_id.in_(list(hours_of)), Attendance.status.in_(counted)
        )
    ):
        attended[member_id] = attended.get(member_id, Decimal(0)) + hours_of[lesson_id]
    quizzes = db.session.scalars(
        sa.select(Quiz).where(
            Quiz.session_id == session.id,
            Quiz.status == QuizStatus.PUBLISHED,
            Quiz.practice.is_(False),
        )
    ).all()
    members = db.session.scalars(
        sa.select(Member)
        .join(Enrollment, Enrollment.member_id == Member.id)
        .where(
            Enrollment.session_id == session.id,
            Enrollment.in_session,
        )
        .order_by(Member.staff_no)
    ).all()
    needed = total * session.completion_percent / 100
    result = []
    for member in members:
        hours = attended.get(member.id, Decimal(0))
        reasons = []
        if not lessons:
            reasons.append(_("本期没有课次。"))
        elif hours < needed:
            reasons.append(
                _("出勤学时 %(got)s / 应达 %(need)s。", got=hours, need=needed.normalize())
            )
        if session.quiz_required:
            for quiz in quizzes:
                attempt = counting_attempt(quiz, member)
                if attempt is None:
                    reasons.append(_("未参加测试「%(title)s」。", title=quiz.title))
                elif not attempt.passed:
                    reasons.append(
                        _(
                            "测试「%(title)s」未及格（%(p)s%%）。",
                            title=quiz.title,
                            p=attempt.percent,
                        )
                    )
        if not member.active:
            reasons.append(_("已停用。"))
        result.append(
            Eligibility(member=member, eligible=not reasons, hours=hours, reasons=reasons)
        )
    return result


def cycle_eligibility(cycle: RotationCycle) -> list[Eligibility]:
    states = coverage_states(cycle)
    hours = cycle_hours(cycle, population(cycle).with_only_columns(Member.id))
    members = db.session.scalars(population(cycle).order_by(Member.staff_no)).all()
    return [
        Eligibility(
            member=m,
            eligible=states.get(m.id) == Coverage.TRAINED,
            hours=hours.get(m.id, Decimal(0)),
            reasons=[] if states.get(m.id) == Coverage.TRAINED else [_("尚未完成本轮训。")],
        )
        for m in members
    ]
