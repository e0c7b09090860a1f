"""Signing in to lessons (rotating QR tokens, the grid, imports) and the attendance totals that
reports read."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from lms.attendance.models import (
    ATTENDED,
    Attendance,
    AttendanceMethod,
    AttendanceStatus,
    AttendanceTotal,
    MemberYearTotal,
)
from lms.audit.services import record_audit
from lms.auth.models import Role, User
from lms.catalog.models import Course
from lms.database import utcnow
from lms.extensions import db
from lms.org.models import Member
from lms.sessions.models import Enrollment, Lesson, TrainingSession

WINDOW_SECONDS = 30


class SignInRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- access ----------------------------------------------------------------------------------


def can_run_sign_in(user: User, lesson: Lesson) -> bool:
    return user.has_role(Role.ORGANIZER) or lesson.lecturer_id == user.id


def can_view_session_attendance(user: User, session: TrainingSession) -> bool:
    if user.has_role(Role.ORGANIZER):
        return True
    return any(lesson.lecturer_id == user.id for lesson in session.lessons)


def can_edit_attendance(user: User, session: TrainingSession) -> bool:
    return user.has_role(Role.ORGANIZER)


# --- rotating tokens -------------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="lesson-sign-in")


def current_window(now: float | None = None) -> int:
    return int((now if now is not None else time.time()) // WINDOW_SECONDS)


def sign_in_token(lesson: Lesson, window: int | None = None) -> str:
    """A signed token for this lesson and 30-second window; the QR code shows its URL."""
    return _serializer().dumps([lesson.id, current_window() if window is None else window])


def lesson_from_token(token: str, now: float | None = None) -> Lesson:
    """The lesson a scanned token is for, if it is genuine and recent enough."""
    try:
        lesson_id, window = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise SignInRefused(_("签到码无效，请扫描屏幕上的二维码。")) from None
    if not isinstance(lesson_id, int) or not isinstance(window, int):
        raise SignInRefused(_("签到码无效，请扫描屏幕上的二维码。"))
    grace = current_app.config["SIGNIN_GRACE_WINDOWS"]
    if not 0 <= current_window(now) - window <= grace:
        raise SignInRefused(_("签到码已过期，请扫描屏幕上最新的二维码。"))
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None:
        raise SignInRefused(_("签到码无效，请扫描屏幕上的二维码。"))
    return lesson


def is_enrolled_for(member: Member, lesson: Lesson) -> bool:
    return (
        db.session.scalar(
            sa.select(Enrollment.id).where(
                Enrollment.session_id == lesson.session_id,
                Enrollment.member_id == member.id,
                Enrollment.in_session,
            )
        )
        is not None
    )


def sign_in_by_qr(member: Member, lesson: Lesson, device: str, scanned_at: datetime) -> Attendance:
    """Record the member present (or late) from a scanned code on their own phone."""
    if not is_enrolled_for(member, lesson):
        raise SignInRefused(_("您不在本期培训的参训名单中，如有疑问请联系组织者。"))
    if scanned_at > lesson.ends_at + timedelta(minutes=30):
        raise SignInRefused(_("本节课已经结束，不能再签到。"))
    proxy = db.session.scalar(
        sa.select(Attendance.id).where(
            Attendance.lesson_id == lesson.id,
            Attendance.device == device,
            Attendance.member_id != member.id,
        )
    )
    if proxy is not None:
        raise SignInRefused(_("这部手机已经为其他人签到过本节课，请用本人的手机签到。"))
    existing = db.session.scalar(
        sa.select(Attendance).where(
            Attendance.lesson_id == lesson.id, Attendance.member_id == member.id
        )
    )
    if existing is not None and existing.status in ATTENDED:
        return existing  # scanning twice changes nothing
    late_after = lesson.starts_at + timedelta(minutes=current_app.config["SIGNIN_LATE_MINUTES"])
    status = AttendanceStatus.LATE if scanned_at > late_after else AttendanceStatus.PRESENT
    attendance = existing or Attendance(member_id=member.id, lesson_id=lesson.id)
    attendance.status = status
    attendance.method = AttendanceMethod.QR
    attendance.device = device
    attendance.recorded_at = scanned_at
    attendance.recorded_by_id = None
    db.session.add(attendance)
    refresh_totals({member.id}, {lesson.session_id})
    return attendance


@dataclass(frozen=True)
class LessonAttendance:
    """A lesson's sign-in figures: attended (present, late, left early), any status recorded,
    and members expected (enrolled in its session)."""

    present: int = 0
    recorded: int = 0
    expected: int = 0


def lesson_attendance(lessons: Sequence[Lesson]) -> dict[int, LessonAttendance]:
    """Sign-in figures for many lessons in two grouped queries, whatever their number."""
    if not lessons:
        return {}
    lesson_ids = {lesson.id for lesson in lessons}
    marked = {
        lesson_id: (present or 0, recorded)
        for lesson_id, present, recorded in db.session.execute(
            sa.select(
                Attendance.lesson_id,
                sa.func.sum(sa.case((Attendance.status.in_(ATTENDED), 1), else_=0)),
                sa.func.count(Attendance.id),
            )
            .where(Attendance.lesson_id.in_(lesson_ids))
            .group_by(Attendance.lesson_id)
        )
    }
    expected = dict(
        db.session.execute(
            sa.select(Enrollment.session_id, sa.func.count(Enrollment.id))
            .where(
                Enrollment.session_id.in_({lesson.session_id for lesson in lessons}),
                Enrollment.in_session,
            )
            .group_by(Enrollment.session_id)
        ).all()
    )
    return {
        lesson.id: LessonAttendance(
            *marked.get(lesson.id, (0, 0)), expected=expected.get(lesson.session_id, 0)
        )
        for lesson in lessons
    }


def signed_in_count(lesson: Lesson) -> tuple[int, int]:
    figures = lesson_attendance([lesson])[lesson.id]
    return figures.present, figures.expected


# --- totals for reports ---------------------------------------------------------------------


def _session_totals_select() -> sa.Select:
    """Attended lessons and their hours, per member and session."""
    return (
        sa.select(
            Attendance.member_id,
            Lesson.session_id,
            sa.func.count(Attendance.id),
            sa.func.coalesce(sa.func.sum(Course.hours), 0),
        )
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .where(Attendance.status.in_(ATTENDED))
        .group_by(Attendance.member_id, Lesson.session_id)
    )


def _year_totals_select() -> sa.Select:
    year = sa.cast(sa.extract("year", TrainingSession.start_date), sa.Integer)
    return (
        sa.select(
            AttendanceTotal.member_id,
            year.label("year"),
            sa.func.sum(AttendanceTotal.lessons),
            sa.func.sum(AttendanceTotal.hours),
        )
        .join(TrainingSession, TrainingSession.id == AttendanceTotal.session_id)
        .group_by(AttendanceTotal.member_id, year)
    )


SESSION_TOTAL_COLUMNS = ["member_id", "session_id", "lessons", "hours"]
YEAR_TOTAL_COLUMNS = ["member_id", "year", "lessons", "hours"]


def refresh_totals(member_ids: set[int], session_ids: set[int]) -> None:
    """Recompute the attended lessons and hours of these members in these sessions."""
    if not member_ids or not session_ids:
        return
    db.session.flush()
    db.session.execute(
        sa.delete(AttendanceTotal).where(
            AttendanceTotal.member_id.in_(member_ids), AttendanceTotal.session_id.in_(session_ids)
        )
    )
    db.session.execute(
        sa.insert(AttendanceTotal).from_select(
            SESSION_TOTAL_COLUMNS,
            _session_totals_select().where(
                Attendance.member_id.in_(member_ids), Lesson.session_id.in_(session_ids)
            ),
        )
    )
    db.session.execute(sa.delete(MemberYearTotal).where(MemberYearTotal.member_id.in_(member_ids)))
    db.session.execute(
        sa.insert(MemberYearTotal).from_select(
            YEAR_TOTAL_COLUMNS,
            _year_totals_select().where(AttendanceTotal.member_id.in_(member_ids)),
        )
    )


def rebuild_all_totals() -> tuple[int, int]:
    """Recompute every total from the attendance rows (after a bulk load that wrote attendance
    directly, or to repair them: `lms reports rebuild`). Returns the rows of each table."""
    db.session.execute(sa.delete(AttendanceTotal))
    db.session.execute(
        sa.insert(AttendanceTotal).from_select(SESSION_TOTAL_COLUMNS, _session_totals_select())
    )
    db.session.execute(sa.delete(MemberYearTotal))
    db.session.execute(
        sa.insert(MemberYearTotal).from_select(YEAR_TOTAL_COLUMNS, _year_totals_select())
    )
    count = sa.func.count()
    return (
        db.session.scalar(sa.select(count).select_from(AttendanceTotal)) or 0,
        db.session.scalar(sa.select(count).select_from(MemberYearTotal)) or 0,
    )


# --- the grid --------------------------------------------------------------------------------


@dataclass
class Grid:
    session: TrainingSession
    lessons: list[Lesson]
    members: list[Member]
    cells: dict[tuple[int, int], Attendance]  # (member_id, lesson_id)


def session_grid(session: TrainingSession) -> Grid:
    lessons = list(
        db.session.scalars(
            sa.select(Lesson).where(Lesson.session_id == session.id).order_by(Lesson.starts_at)
        )
    )
    members = list(
        db.session.scalars(
            sa.select(Member)
            .join(Enrollment, Enrollment.member_id == Member.id)
            .where(Enrollment.session_id == session.id)
            .order_by(Member.staff_no)
        )
    )
    cells = {
        (a.member_id, a.lesson_id): a
        for a in db.session.scalars(
            sa.select(Attendance).where(Attendance.lesson_id.in_([x.id for x in lessons]))
        )
    }
    return Grid(session=session, lessons=lessons, members=members, cells=cells)


def set_attendance(
    grid: Grid,
    changes: dict[tuple[int, int], AttendanceStatus | None],
    user: User,
    method: AttendanceMethod = AttendanceMethod.MANUAL,
) -> int:
    """Apply cell changes (None clears a cell); returns how many changed. Audited."""
    changed: list[list[Any]] = []  # [member id, lesson id, status value], as the audit keeps it
    for (member_id, lesson_id), status in changes.items():
        cell = grid.cells.get((member_id, lesson_id))
        if status is None:
            if cell is not None:
                db.session.delete(cell)
                changed.append([member_id, lesson_id, None])
            continue
        if cell is not None and cell.status is status:
            continue
        if cell is None:
            cell = Attendance(member_id=member_id, lesson_id=lesson_id)
            db.session.add(cell)
            grid.cells[(member_id, lesson_id)] = cell
        cell.status = status
        cell.method = method
        cell.recorded_by_id = user.id
        cell.recorded_at = utcnow()
        changed.append([member_id, lesson_id, status.value])
    db.session.flush()
    refresh_totals({c[0] for c in changed}, {grid.session.id})
    if changed:
        record_audit("attendance.changed", "session", grid.session.id, {"cells": changed[:500]})
    return len(changed)
