"""The training record (学习档案) of a member for a year, and a branch's summary of them.

Hours come from the one hours ledger (lms.attendance.hours.hours_ledger), so the record, the
hours page and the certificates always agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from lms.attendance.hours import (
    HoursLine,
    annual_target,
    hours_ledger,
    hours_targets,
    secretary_member_ids,
    year_bounds,
)
from lms.attendance.models import ATTENDED, Attendance, HoursCredit
from lms.catalog.models import Course
from lms.certificates.models import Certificate
from lms.clock import to_local
from lms.extensions import db
from lms.online.models import ViewingProgress
from lms.org.models import Branch, Member
from lms.quizzes.models import Attempt, AttemptKind, Quiz
from lms.rotation.coverage import MemberPlan, member_plans
from lms.sessions.models import Enrollment, EnrollmentStatus, Lesson, TrainingSession

ZERO = Decimal(0)


@dataclass
class SessionLine:
    session: TrainingSession
    status: EnrollmentStatus
    lessons_attended: int
    lessons_total: int
    hours: Decimal


@dataclass
class QuizLine:
    title: str
    finished_on: date
    score: Decimal
    max_score: Decimal
    passed: bool | None

    @property
    def percent(self) -> Decimal:
        if not self.max_score:
            return ZERO
        return (self.score * 100 / self.max_score).quantize(Decimal("0.1"))


@dataclass
class TrainingRecord:
    member: Member
    year: int
    target: int
    sessions: list[SessionLine] = field(default_factory=list)
    lessons: list[HoursLine] = field(default_factory=list)
    credits: list[HoursLine] = field(default_factory=list)
    online: list[HoursLine] = field(default_factory=list)
    quizzes: list[QuizLine] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)

    @property
    def concentrated_hours(self) -> Decimal:
        return sum((line.hours for line in self.lessons), ZERO)

    @property
    def credited_hours(self) -> Decimal:
        return sum((line.hours for line in self.credits), ZERO)

    @property
    def online_hours(self) -> Decimal:
        return sum((line.hours for line in self.online), ZERO)

    @property
    def total_hours(self) -> Decimal:
        return self.concentrated_hours + self.credited_hours + self.online_hours

    @property
    def target_met(self) -> bool:
        return self.total_hours >= self.target


def _in_year(column: sa.SQLColumnExpression[date], year: int) -> sa.ColumnElement[bool]:
    return sa.and_(column >= date(year, 1, 1), column < date(year + 1, 1, 1))


def _session_lines(member: Member, year: int | None) -> list[SessionLine]:
    """The member's sessions starting in `year` (every year if None), with what they attended."""
    stmt = (
        sa.select(Enrollment, TrainingSession)
        .join(TrainingSession, TrainingSession.id == Enrollment.session_id)
        .where(Enrollment.member_id == member.id)
        .order_by(TrainingSession.start_date, Enrollment.id)
    )
    if year is not None:
        stmt = stmt.where(_in_year(TrainingSession.start_date, year))
    enrollments = db.session.execute(stmt).all()
    if not enrollments:
        return []
    session_ids = {session.id for _, session in enrollments}
    totals = dict(
        db.session.execute(
            sa.select(Lesson.session_id, sa.func.count(Lesson.id))
            .where(Lesson.session_id.in_(session_ids))
            .group_by(Lesson.session_id)
        ).all()
    )
    attended = {
        session_id: (count, hours)
        for session_id, count, hours in db.session.execute(
            sa.select(Lesson.session_id, sa.func.count(Lesson.id), sa.func.sum(Course.hours))
            .join(Attendance, Attendance.lesson_id == Lesson.id)
            .join(Course, Course.id == Lesson.course_id)
            .where(
                Lesson.session_id.in_(session_ids),
                Attendance.member_id == member.id,
                Attendance.status.in_(ATTENDED),
            )
            .group_by(Lesson.session_id)
        )
    }
    return [
        SessionLine(
            session=session,
            status=enrollment.status,
            lessons_attended=attended.get(session.id, (0, ZERO))[0],
            lessons_total=totals.get(session.id, 0),
            hours=Decimal(attended.get(session.id, (0, ZERO))[1] or 0),
        )
        for enrollment, session in enrollments
    ]


def _quiz_lines(member: Member, year: int) -> list[QuizLine]:
    start, end = year_bounds(year)
    rows = db.session.execute(
        sa.select(Attempt, Quiz.title)
        .join(Quiz, Quiz.id == Attempt.quiz_id)
        .where(
            Attempt.member_id == member.id,
            Attempt.kind == AttemptKind.QUIZ,
            Attempt.practice.is_(False),
            Attempt.score.is_not(None),
            Attempt.finished_at >= start,
            Attempt.finished_at < end,
        )
        .order_by(Attempt.finished_at)
    )
    return [
        QuizLine(
            title=title,
            finished_on=to_local(attempt.finished_at).date(),
            score=attempt.score,
            max_score=attempt.max_score,
            passed=attempt.passed,
        )
        for attempt, title in rows
        # always: the query asks for finished, scored attempts
        if attempt.finished_at is not None and attempt.score is not None
    ]


def _certificates(member: Member, year: int | None) -> list[Certificate]:
    """The member's certificates issued in `year` (every year if None), oldest first."""
    stmt = (
        sa.select(Certificate)
        .where(Certificate.member_id == member.id)
        .order_by(Certificate.issued_on, Certificate.id)
    )
    if year is not None:
        stmt = stmt.where(_in_year(Certificate.issued_on, year))
    return list(db.session.scalars(stmt))


def training_record(member: Member, year: int) -> TrainingRecord:
    ledger = hours_ledger(member, year)
    certificates = _certificates(member, year)
    return TrainingRecord(
        member=member,
        year=year,
        target=annual_target(member),
        sessions=_session_lines(member, year),
        lessons=[line for line in ledger if line.kind == "lesson"],
        credits=[line for line in ledger if line.kind == "credit"],
        online=[line for line in ledger if line.kind == "online"],
        quizzes=_quiz_lines(member, year),
        certificates=list(certificates),
    )


@dataclass
class MemberOverview:
    """A member's page at a glance: every session they were called to (latest first) with its
    enrollment status, where they stand in each rotation cycle, this year's hours against
    their target, and all their certificates (latest first)."""

    member: Member
    year: int
    hours: Decimal
    target: int
    sessions: list[SessionLine]
    plans: list[MemberPlan]
    certificates: list[Certificate]

    @property
    def target_met(self) -> bool:
        return self.hours >= self.target


def member_overview(member: Member, year: int) -> MemberOverview:
    return MemberOverview(
        member=member,
        year=year,
        hours=sum((line.hours for line in hours_ledger(member, year)), ZERO),
        target=annual_target(member),
        sessions=_session_lines(member, None)[::-1],
        plans=member_plans(member),
        certificates=_certificates(member, None)[::-1],
    )


# --- a branch's summary, one row per member, in a constant number of queries ----------------
@dataclass
class SummaryRow:
    member: Member
    target: int
    sessions: int = 0
    lessons: int = 0
    concentrated_hours: Decimal = ZERO
    credited_hours: Decimal = ZERO
    online_hours: Decimal = ZERO
    quizzes: int = 0
    best_percent: Decimal | None = None
    certificates: int = 0

    @property
    def total_hours(self) -> Decimal:
        return self.concentrated_hours + self.credited_hours + self.online_hours


def branch_summary(branch: Branch, year: int) -> list[SummaryRow]:
    members = db.session.scalars(
        sa.select(Member)
        .where(Member.branch_id == branch.id, Member.active.is_(True))
        .order_by(Member.staff_no)
    ).all()
    targets, secretaries = hours_targets(), secretary_member_ids()
    rows = {
        member.id: SummaryRow(member=member, target=annual_target(member, targets, secretaries))
        for member in members
    }
    ids = sa.select(Member.id).where(Member.branch_id == branch.id, Member.active.is_(True))
    start, end = year_bounds(year)
    for member_id, count in db.session.execute(
        sa.select(Enrollment.member_id, sa.func.count(Enrollment.id))
        .join(TrainingSession, TrainingSession.id == Enrollment.session_id)
        .where(Enrollment.member_id.in_(ids), _in_year(TrainingSession.start_date, year))
        .group_by(Enrollment.member_id)
    ):
        rows[member_id].sessions = count
    for member_id, count, hours in db.session.execute(
        sa.select(Attendance.member_id, sa.func.count(Lesson.id), sa.func.sum(Course.hours))
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .where(
            Attendance.member_id.in_(ids),
            Attendance.status.in_(ATTENDED),
            Lesson.starts_at >= start,
            Lesson.starts_at < end,
        )
        .group_by(Attendance.member_id)
    ):
        rows[member_id].lessons, rows[member_id].concentrated_hours = count, Decimal(hours or 0)
    for member_id, hours in db.session.execute(
        sa.select(HoursCredit.member_id, sa.func.sum(HoursCredit.hours))
        .where(HoursCredit.member_id.in_(ids), _in_year(HoursCredit.credited_on, year))
        .group_by(HoursCredit.member_id)
    ):
        rows[member_id].credited_hours = Decimal(hours or 0)
    for member_id, hours in db.session.execute(
        sa.select(ViewingProgress.member_id, sa.func.sum(ViewingProgress.credited_hours))
        .where(
            ViewingProgress.member_id.in_(ids),
            ViewingProgress.credited_at >= start,
            ViewingProgress.credited_at < end,
        )
        .group_by(ViewingProgress.member_id)
    ):
        rows[member_id].online_hours = Decimal(hours or 0)
    percent = Attempt.score * 100 / sa.func.nullif(Attempt.max_score, 0)
    for member_id, count, best in db.session.execute(
        sa.select(Attempt.member_id, sa.func.count(Attempt.id), sa.func.max(percent))
        .where(
            Attempt.member_id.in_(ids),
            Attempt.kind == AttemptKind.QUIZ,
            Attempt.practice.is_(False),
            Attempt.score.is_not(None),
            Attempt.finished_at >= start,
            Attempt.finished_at < end,
        )
        .group_by(Attempt.member_id)
    ):
        rows[member_id].quizzes = count
        rows[member_id].best_percent = (
            None if best is None else Decimal(str(best)).quantize(Decimal("0.1"))
        )
    for member_id, count in db.session.execute(
        sa.select(Certificate.member_id, sa.func.count(Certificate.id))
        .where(Certificate.member_id.in_(ids), _in_year(Certificate.issued_on, year))
        .group_by(Certificate.member_id)
    ):
        rows[member_id].certificates = count
    return list(rows.values())
