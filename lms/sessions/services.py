"""Training sessions: who may see and edit them, the queries pages share, creating, updating,
moving through their statuses and planning the next one (its lessons go through `timetable`)."""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from lms import signals
from lms.audit.services import record_audit
from lms.auth.models import User
from lms.catalog.models import Course, CourseStatus
from lms.clock import local_today
from lms.database import utcnow
from lms.extensions import db
from lms.forms import FIRST_SCHEDULE_DATE, LAST_SCHEDULE_DATE
from lms.org.models import Category, Member
from lms.sessions.models import NEXT_STATUSES, Enrollment, Lesson, SessionStatus, TrainingSession
from lms.sessions.timetable import LessonData, ScheduleError, add_lesson

# --- queries ---------------------------------------------------------------------------------


def sessions_query(status: SessionStatus | None = None) -> sa.Select:
    stmt = sa.select(TrainingSession).order_by(
        TrainingSession.start_date.desc(), TrainingSession.id
    )
    if status is not None:
        stmt = stmt.where(TrainingSession.status == status)
    return stmt


def sessions_between(first: date, last: date) -> list[TrainingSession]:
    return list(
        db.session.scalars(
            sa.select(TrainingSession)
            .where(TrainingSession.start_date <= last, TrainingSession.end_date >= first)
            .order_by(TrainingSession.start_date, TrainingSession.id)
        )
    )


@dataclass
class MonthCalendar:
    year: int
    month: int
    weeks: list[list[tuple[date, list[TrainingSession]]]]
    sessions: list[TrainingSession]

    @property
    def previous(self) -> date:
        return date(self.year, self.month, 1) - timedelta(days=1)

    @property
    def next(self) -> date:
        return date(self.year, self.month, 28) + timedelta(days=4)


def month_calendar(year: int, month: int) -> MonthCalendar:
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    sessions = sessions_between(weeks[0][0], weeks[-1][-1])
    by_day: dict[date, list[TrainingSession]] = defaultdict(list)
    for session in sessions:
        for day in session.days:
            by_day[day].append(session)
    in_month = [s for s in sessions if s.start_date.month == month or s.end_date.month == month]
    return MonthCalendar(
        year=year,
        month=month,
        weeks=[[(day, by_day.get(day, [])) for day in week] for week in weeks],
        sessions=in_month,
    )


def lessons_by_day(session: TrainingSession) -> list[tuple[date, list[Lesson]]]:
    lessons = db.session.scalars(
        sa.select(Lesson)
        .where(Lesson.session_id == session.id)
        .options(selectinload(Lesson.course), selectinload(Lesson.lecturer))
        .order_by(Lesson.starts_at, Lesson.id)
    )
    days: dict[date, list[Lesson]] = {day: [] for day in session.days}
    for lesson in lessons:
        days.setdefault(lesson.day, []).append(lesson)
    return sorted(days.items())


def upcoming_lessons_of_course(course: Course, limit: int = 10) -> list[Lesson]:
    return list(
        db.session.scalars(
            sa.select(Lesson)
            .join(Lesson.session)
            .where(
                Lesson.course_id == course.id,
                Lesson.ends_at >= utcnow(),
                TrainingSession.status != SessionStatus.CANCELLED,
            )
            .options(selectinload(Lesson.session), selectinload(Lesson.lecturer))
            .order_by(Lesson.starts_at)
            .limit(limit)
        )
    )


def lessons_taught_by(user: User, *, upcoming: bool) -> sa.Select:
    """The lessons `user` teaches in sessions not cancelled: those not yet over, soonest
    first, or those over, latest first. Course and session come in the same query."""
    now = utcnow()
    stmt = (
        sa.select(Lesson)
        .join(Lesson.session)
        .where(Lesson.lecturer_id == user.id, TrainingSession.status != SessionStatus.CANCELLED)
        .options(joinedload(Lesson.session), joinedload(Lesson.course))
    )
    if upcoming:
        return stmt.where(Lesson.ends_at >= now).order_by(Lesson.starts_at, Lesson.id)
    return stmt.where(Lesson.ends_at < now).order_by(Lesson.starts_at.desc(), Lesson.id.desc())


def enrolled_session_ids(member: Member | None) -> set[int]:
    """The sessions the member is in (`Enrollment.in_session`: not on leave, not absent)."""
    if member is None:
        return set()
    return set(
        db.session.scalars(
            sa.select(Enrollment.session_id).where(
                Enrollment.member_id == member.id, Enrollment.in_session
            )
        )
    )


def is_enrolled_in_course(member: Member | None, course: Course) -> bool:
    """Whether the member is enrolled in a session whose timetable has this course."""
    if member is None:
        return False
    return (
        db.session.scalar(
            sa.select(Enrollment.id)
            .join(Lesson, Lesson.session_id == Enrollment.session_id)
            .where(
                Enrollment.member_id == member.id,
                Enrollment.in_session,
                Lesson.course_id == course.id,
            )
            .limit(1)
        )
        is not None
    )


def is_enrolled_in_session(member: Member | None, session_id: int) -> bool:
    return session_id in enrolled_session_ids(member)


def schedulable_courses() -> list[Course]:
    return list(
        db.session.scalars(
            sa.select(Course).where(Course.status != CourseStatus.ARCHIVED).order_by(Course.code)
        )
    )


# --- sessions --------------------------------------------------------------------------------


@dataclass
class SessionData:
    title: str
    start_date: date
    end_date: date
    venue: str
    capacity: int
    enrolment_deadline: date | None
    categories: set[Category]
    completion_percent: int = 100
    late_counts: bool = True
    quiz_required: bool = True


def _apply(session: TrainingSession, data: SessionData) -> None:
    session.title = data.title
    session.start_date = data.start_date
    session.end_date = data.end_date
    session.venue = data.venue
    session.capacity = data.capacity
    session.enrolment_deadline = data.enrolment_deadline
    session.set_categories(data.categories)
    session.completion_percent = data.completion_percent
    session.late_counts = data.late_counts
    session.quiz_required = data.quiz_required


def create_session(data: SessionData) -> TrainingSession:
    session = TrainingSession(status=SessionStatus.PLANNED)
    _apply(session, data)
    db.session.add(session)
    db.session.flush()
    record_audit("session.created", "session", session.id, {"title": session.title})
    return session


def update_session(session: TrainingSession, data: SessionData) -> None:
    outside = [
        lesson for lesson in session.lessons if not data.start_date <= lesson.day <= data.end_date
    ]
    if outside:
        raise ScheduleError(
            [
                _(
                    "课表中有 %(n)d 节课不在新的日期范围内，请先调整或删除这些课次。",
                    n=len(outside),
                )
            ]
        )
    _apply(session, data)
    db.session.flush()
    record_audit("session.updated", "session", session.id, {"title": session.title})


def set_session_status(session: TrainingSession, status: SessionStatus, reason: str = "") -> None:
    if status not in NEXT_STATUSES[session.status]:
        raise ScheduleError([_("该期次当前状态下不能进行此操作。")])
    if status is SessionStatus.CANCELLED:
        if not reason.strip():
            raise ScheduleError([_("取消期次须填写原因。")])
        session.cancel_reason = reason.strip()
    record_audit(
        "session.status",
        "session",
        session.id,
        {"status": [session.status, status], **({"reason": reason.strip()} if reason else {})},
    )
    session.status = status
    db.session.flush()
    if status is SessionStatus.COMPLETED:
        signals.session_completed.send(session)


def advance_session_statuses(today: date | None = None) -> list[TrainingSession]:
    """Let statuses follow the dates: a planned or open session whose start date has come is in
    progress. Completing stays the organizer's act (it marks who missed the session); a session
    past its end shows as due for completion until then."""
    today = today or local_today()
    started = db.session.scalars(
        sa.select(TrainingSession)
        .where(
            TrainingSession.status.in_([SessionStatus.PLANNED, SessionStatus.OPEN]),
            TrainingSession.start_date <= today,
        )
        .order_by(TrainingSession.start_date, TrainingSession.id)
    ).all()
    for session in started:
        record_audit(
            "session.status",
            "session",
            session.id,
            {"status": [session.status, SessionStatus.IN_PROGRESS], "by": "dates"},
        )
        session.status = SessionStatus.IN_PROGRESS
    db.session.flush()
    return list(started)


_TITLE_PATTERN = re.compile(r"^(\d{4})年第(\d+)期$")


def suggest_next_title(previous: TrainingSession, start: date) -> str:
    """「2026年第11期」 → 「2026年第12期」; a new year starts again at 第1期."""
    match = _TITLE_PATTERN.match(previous.title)
    if match is None:
        return ""
    year, number = int(match.group(1)), int(match.group(2))
    number = number + 1 if start.year == year else 1
    return f"{start.year}年第{number}期"


def same_day_next_month(day: date) -> date | None:
    """The same day a month later; None where that leaves the dates a timetable may use."""
    if not FIRST_SCHEDULE_DATE <= day < date(LAST_SCHEDULE_DATE.year, 12, 1):
        return None
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def plan_next_session(source: TrainingSession, title: str, start_date: date) -> TrainingSession:
    """Copy a session, its targeting and its timetable onto new dates starting at `start_date`."""
    shift = start_date - source.start_date
    deadline = source.enrolment_deadline + shift if source.enrolment_deadline else None
    session = create_session(
        SessionData(
            title=title,
            start_date=start_date,
            end_date=source.end_date + shift,
            venue=source.venue,
            capacity=source.capacity,
            enrolment_deadline=deadline,
            categories=set(source.categories),
            completion_percent=source.completion_percent,
            late_counts=source.late_counts,
            quiz_required=source.quiz_required,
        )
    )
    errors: list[str] = []
    for lesson in source.lessons:
        data = LessonData(
            course_id=lesson.course_id,
            lecturer_id=lesson.lecturer_id,
            day=lesson.day + shift,
            start=lesson.local_start.time(),
            end=lesson.local_end.time(),
            room=lesson.room,
        )
        try:
            add_lesson(session, data)
        except ScheduleError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ScheduleError(errors)
    record_audit("session.planned_from", "session", session.id, {"source": source.id})
    return session
