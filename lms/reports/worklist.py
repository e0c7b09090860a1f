"""本月工作: a month's sessions, and those just ended, with what still needs doing for each.

Everything is derived from grouped counts over all the sessions at once, so the page takes the
same few queries whatever the number of sessions, lessons or members. Each task links to the
page where it is done."""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import url_for
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _

from lms.attendance.models import Attendance
from lms.certificates.models import Certificate, CertificateStatus
from lms.clock import local_today
from lms.database import utcnow
from lms.evaluation.results import session_rows
from lms.evaluation.services import evaluation_open
from lms.extensions import db
from lms.quizzes.models import Attempt, AttemptKind, AttemptStatus, Quiz, QuizStatus
from lms.sessions.models import (
    ENROLLED,
    Enrollment,
    EnrollmentStatus,
    Lesson,
    SessionStatus,
    TrainingSession,
)


@dataclass
class Task:
    """One line of a session's work: what it is, where to do it, and whether it waits on us."""

    kind: str  # a stable name: enrolment, leave, timetable, attendance, quiz, certificates, ...
    text: str
    url: str
    todo: bool = True  # False: for information (e.g. enrolment counts, evaluation results)


@dataclass
class SessionWork:
    session: TrainingSession
    tasks: list[Task] = field(default_factory=list)

    @property
    def todo(self) -> int:
        return sum(task.todo for task in self.tasks)


@dataclass
class MonthWork:
    first: date
    last: date
    this_month: list[SessionWork]
    just_ended: list[SessionWork]  # ended before the month began and still waiting on us

    @property
    def todo(self) -> int:
        return sum(work.todo for work in self.this_month + self.just_ended)

    @property
    def previous(self) -> date:
        return _shift(self.first, -1)

    @property
    def next(self) -> date:
        return _shift(self.first, 1)


def _shift(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


# --- grouped counts --------------------------------------------------------------------------


def _sessions(first: date, last: date) -> list[TrainingSession]:
    """Sessions of the month, those that ended the month before, and any still in progress
    although its dates are over; never cancelled ones."""
    ended_since = _shift(first, -1)
    return list(
        db.session.scalars(
            sa.select(TrainingSession)
            .where(
                TrainingSession.status != SessionStatus.CANCELLED,
                sa.or_(
                    sa.and_(TrainingSession.start_date <= last, TrainingSession.end_date >= first),
                    sa.and_(
                        TrainingSession.end_date < first, TrainingSession.end_date >= ended_since
                    ),
                    sa.and_(
                        TrainingSession.end_date < first,
                        TrainingSession.status == SessionStatus.IN_PROGRESS,
                    ),
                ),
            )
            .order_by(TrainingSession.start_date, TrainingSession.id)
        )
    )


def _enrollment_counts(ids: list[int]) -> dict[int, Counter]:
    counts: dict[int, Counter] = defaultdict(Counter)
    for session_id, status, n in db.session.execute(
        sa.select(Enrollment.session_id, Enrollment.status, sa.func.count(Enrollment.id))
        .where(Enrollment.session_id.in_(ids))
        .group_by(Enrollment.session_id, Enrollment.status)
    ):
        counts[session_id][EnrollmentStatus(status)] = n
    return counts


@dataclass
class _LessonCount:
    ends_at: datetime
    recorded: int


def _lesson_counts(ids: list[int]) -> dict[int, list[_LessonCount]]:
    """Per session, each lesson's end and how many of the session's trainees
    (`Enrollment.in_session`) have attendance recorded for it."""
    lessons: dict[int, list[_LessonCount]] = defaultdict(list)
    for session_id, ends_at, recorded in db.session.execute(
        sa.select(Lesson.session_id, Lesson.ends_at, sa.func.count(Enrollment.id))
        .outerjoin(Attendance, Attendance.lesson_id == Lesson.id)
        .outerjoin(
            Enrollment,
            sa.and_(
                Enrollment.session_id == Lesson.session_id,
                Enrollment.member_id == Attendance.member_id,
                Enrollment.in_session,
            ),
        )
        .where(Lesson.session_id.in_(ids))
        .group_by(Lesson.id, Lesson.session_id, Lesson.ends_at)
    ):
        lessons[session_id].append(_LessonCount(ends_at, recorded))
    return lessons


@dataclass
class _QuizCount:
    quiz: Quiz
    finished_members: int = 0
    in_progress: int = 0
    overdue: int = 0


def _quiz_counts(ids: list[int], now: datetime) -> dict[int, list[_QuizCount]]:
    """Per session, its (non-practice, not archived) quizzes with their attempts counted."""
    quizzes = db.session.scalars(
        sa.select(Quiz)
        .where(
            Quiz.session_id.in_(ids),
            Quiz.status != QuizStatus.ARCHIVED,
            Quiz.practice.is_(False),
        )
        .order_by(Quiz.id)
    ).all()
    finished = Attempt.status != AttemptStatus.IN_PROGRESS
    in_progress = Attempt.status == AttemptStatus.IN_PROGRESS
    counted = {
        quiz_id: (members, running, overdue)
        for quiz_id, members, running, overdue in db.session.execute(
            sa.select(
                Attempt.quiz_id,
                sa.func.count(sa.distinct(sa.case((finished, Attempt.member_id)))),
                sa.func.count(sa.case((in_progress, Attempt.id))),
                sa.func.count(sa.case((sa.and_(in_progress, Attempt.deadline < now), Attempt.id))),
            )
            .where(Attempt.quiz_id.in_([q.id for q in quizzes]), Attempt.kind == AttemptKind.QUIZ)
            .group_by(Attempt.quiz_id)
        )
    }
    result: dict[int, list[_QuizCount]] = defaultdict(list)
    for quiz in quizzes:
        assert quiz.session_id is not None  # chosen by session_id IN (...)
        result[quiz.session_id].append(_QuizCount(quiz, *counted.get(quiz.id, (0, 0, 0))))
    return result


def _certificate_counts(ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Per session: live certificates issued, and completed members who hold none."""
    rows = db.session.execute(
        sa.select(Certificate.session_id, sa.func.count(Certificate.id))
        .where(Certificate.session_id.in_(ids), Certificate.status == CertificateStatus.LIVE)
        .group_by(Certificate.session_id)
    ).all()
    # session_id IN (...) already leaves out cycle certificates, whose session_id is NULL.
    issued = {session_id: count for session_id, count in rows if session_id is not None}
    holds = (
        sa.select(Certificate.id)
        .where(
            Certificate.member_id == Enrollment.member_id,
            Certificate.session_id == Enrollment.session_id,
            Certificate.status == CertificateStatus.LIVE,
        )
        .exists()
    )
    missing = dict(
        db.session.execute(
            sa.select(Enrollment.session_id, sa.func.count(Enrollment.id))
            .where(
                Enrollment.session_id.in_(ids),
                Enrollment.status == EnrollmentStatus.COMPLETED,
                ~holds,
            )
            .group_by(Enrollment.session_id)
        ).all()
    )
    return issued, missing


# --- what needs doing ------------------------------------------------------------------------


def _enrolment_tasks(session: TrainingSession, counts: Counter, today: date) -> list[Task]:
    enrollments = url_for("rotation.enrollments", session_id=session.id)
    tasks = []
    called = sum(counts.values())
    if session.status in (SessionStatus.PLANNED, SessionStatus.OPEN) and not called:
        tasks.append(
            Task(
                "enrolment",
                _("还没有安排参训学员：在参训名单中添加，或在轮训周期中确认批次。"),
                enrollments,
            )
        )
    elif session.status is SessionStatus.OPEN:
        text = _(
            "报名中：已确认 %(confirmed)d 人，已通知待确认 %(invited)d 人（容量 %(capacity)d）。",
            confirmed=counts[EnrollmentStatus.CONFIRMED],
            invited=counts[EnrollmentStatus.INVITED],
            capacity=session.capacity,
        )
        deadline = session.enrolment_deadline
        if deadline is not None:
            text += " " + _("报名截止 %(day)s。", day=format_date(deadline, "medium"))
        # Still unconfirmed after the deadline: someone should ring them.
        late = deadline is not None and deadline < today and counts[EnrollmentStatus.INVITED]
        tasks.append(Task("enrolment", text, enrollments, todo=bool(late)))
    if session.status is SessionStatus.PLANNED and session.start_date > today:
        tasks.append(
            Task(
                "open",
                _("尚未开始报名：核对课表后点击「开始报名」。"),
                url_for("sessions.detail", session_id=session.id),
            )
        )
    if counts[EnrollmentStatus.LEAVE_REQUESTED]:
        tasks.append(
            Task(
                "leave",
                _("%(n)d 条请假申请待审批。", n=counts[EnrollmentStatus.LEAVE_REQUESTED]),
                enrollments,
            )
        )
    return tasks


def _attendance_task(
    session: TrainingSession, lessons: list[_LessonCount], expected: int, now: datetime
) -> Task | None:
    held = [lesson for lesson in lessons if lesson.ends_at <= now]
    short = [lesson for lesson in held if lesson.recorded < expected]
    if not short:
        return None
    missing = sum(expected - lesson.recorded for lesson in short)
    return Task(
        "attendance",
        _(
            "已上 %(held)d 节课中有 %(short)d 节考勤未记全，缺 %(missing)d 人次。",
            held=len(held),
            short=len(short),
            missing=missing,
        ),
        url_for("attendance.grid", session_id=session.id),
    )


def _quiz_tasks(
    session: TrainingSession, quizzes: list[_QuizCount], expected: int, today: date, now: datetime
) -> list[Task]:
    if not quizzes:
        if session.quiz_required and session.status is not SessionStatus.COMPLETED:
            return [
                Task(
                    "quiz",
                    _("本期要求通过测试，但还没有测试：新建一份本期测试。"),
                    url_for("quizzes.create_quiz", home=f"session:{session.id}"),
                )
            ]
        return []
    tasks = []
    for count in quizzes:
        quiz = count.quiz
        page = url_for("quizzes.quiz", quiz_id=quiz.id)
        stats = url_for("quizzes.quiz_stats", quiz_id=quiz.id)
        if quiz.status is QuizStatus.DRAFT:
            tasks.append(Task("quiz", _("测试「%(title)s」尚未发布。", title=quiz.title), page))
            continue
        if quiz.opens_at is not None and quiz.opens_at > now:
            tasks.append(
                Task(
                    "quiz",
                    _(
                        "测试「%(title)s」将于 %(when)s 开放。",
                        title=quiz.title,
                        when=format_datetime(quiz.opens_at, "short"),
                    ),
                    page,
                    todo=False,
                )
            )
            continue
        if count.overdue:
            tasks.append(
                Task(
                    "quiz",
                    _(
                        "测试「%(title)s」有 %(n)d 份答卷超时未交，打开统计即按已存答案评分。",
                        title=quiz.title,
                        n=count.overdue,
                    ),
                    stats,
                )
            )
        untaken = max(expected - count.finished_members, 0)
        if untaken and session.start_date <= today:
            text = _("测试「%(title)s」还有 %(n)d 人未完成。", title=quiz.title, n=untaken)
            if count.in_progress - count.overdue > 0:
                text += " " + _("其中 %(n)d 人正在答题。", n=count.in_progress - count.overdue)
            tasks.append(Task("quiz", text, stats))
    return tasks


def _closing_tasks(
    session: TrainingSession, issued: int, missing: int, evaluation: tuple[int, Decimal | None]
) -> list[Task]:
    tasks = []
    detail = url_for("sessions.detail", session_id=session.id)
    if session.due_for_completion:
        tasks.append(
            Task("complete", _("结束日期已过：请点击「结束本期」，记录结业与缺席。"), detail)
        )
    certificates = url_for("certificates.session_overview", session_id=session.id)
    if missing:
        tasks.append(
            Task(
                "certificates",
                _("%(n)d 名已结业学员还没有结业证书。", n=missing),
                certificates,
            )
        )
    elif issued:
        tasks.append(
            Task("certificates", _("已发结业证书 %(n)d 份。", n=issued), certificates, todo=False)
        )
    if evaluation_open(session):
        count, overall = evaluation
        report = url_for("evaluation.session_report", session_id=session.id)
        if count:
            text = _("教学评估：%(n)d 人已评，总体评价 %(score)s 分。", n=count, score=overall)
        else:
            text = _("教学评估：还没有学员提交评估。")
        tasks.append(Task("evaluation", text, report, todo=False))
    return tasks


def month_work(year: int, month: int) -> MonthWork:
    first, last = month_bounds(year, month)
    today, now = local_today(), utcnow()
    sessions = _sessions(first, last)
    ids = [s.id for s in sessions]
    enrollments = _enrollment_counts(ids)
    lessons = _lesson_counts(ids)
    quizzes = _quiz_counts(ids, now)
    issued, missing = _certificate_counts(ids)
    evaluations = {row.id: (row.evaluations, row.session_overall) for row in session_rows(ids)}
    this_month, just_ended = [], []
    for session in sessions:
        counts = enrollments[session.id]
        expected = sum(counts[status] for status in ENROLLED)
        work = SessionWork(session)
        work.tasks += _enrolment_tasks(session, counts, today)
        if session.status is not SessionStatus.COMPLETED and not lessons[session.id]:
            work.tasks.append(
                Task(
                    "timetable",
                    _("还没有课表：添加课次。"),
                    url_for("sessions.add_lesson", session_id=session.id),
                )
            )
        if task := _attendance_task(session, lessons[session.id], expected, now):
            work.tasks.append(task)
        work.tasks += _quiz_tasks(session, quizzes[session.id], expected, today, now)
        work.tasks += _closing_tasks(
            session,
            issued.get(session.id, 0),
            missing.get(session.id, 0),
            evaluations.get(session.id, (0, None)),
        )
        if session.end_date >= first:
            this_month.append(work)
        elif work.todo:
            just_ended.append(work)
    return MonthWork(first, last, this_month, just_ended)
