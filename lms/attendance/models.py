"""Attendance (签到) per member and lesson, and credited external hours (学时)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User
from lms.database import UTCDateTime, enum_column, intpk, timestamp, utcnow
from lms.enums import LabelledEnum
from lms.extensions import Model
from lms.org.models import Member
from lms.sessions.models import Lesson


class AttendanceStatus(LabelledEnum):
    PRESENT = "present", _l("出勤")
    LATE = "late", _l("迟到")
    LEFT_EARLY = "left_early", _l("早退")
    ABSENT = "absent", _l("缺勤")
    ON_LEAVE = "on_leave", _l("请假")


# Statuses that earn the lesson's hours (lateness counts as present unless a session says not).
ATTENDED = {AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY}


class AttendanceMethod(enum.StrEnum):
    QR = "qr"
    MANUAL = "manual"
    IMPORT = "import"
    ONLINE = "online"  # a missed lesson made up by watching its recording (线上补学)


class Attendance(Model):
    __tablename__ = "attendance"

    id: Mapped[intpk]
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id"), index=True)
    status: Mapped[AttendanceStatus] = mapped_column(
        enum_column(AttendanceStatus, "attendance_status")
    )
    method: Mapped[AttendanceMethod] = mapped_column(
        enum_column(AttendanceMethod, "attendance_method")
    )
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    device: Mapped[str | None] = mapped_column(sa.String(64))  # QR sign-in: which phone

    member: Mapped[Member] = relationship()
    lesson: Mapped[Lesson] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("member_id", "lesson_id"),)


class HoursCredit(Model):
    """External hours credited to a member (e.g. study elsewhere), with reason and approver."""

    __tablename__ = "hours_credits"

    id: Mapped[intpk]
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(5, 1))
    reason: Mapped[str] = mapped_column(sa.String(200))
    credited_on: Mapped[date]
    approved_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[timestamp]

    member: Mapped[Member] = relationship()
    approved_by: Mapped[User] = relationship()

    __table_args__ = (sa.CheckConstraint("hours > 0", name="hours_positive"),)


class AttendanceTotal(Model):
    """Per member and session: attended lessons and their hours. Kept up to date wherever
    attendance is written, so reports never aggregate the raw attendance rows."""

    __tablename__ = "attendance_totals"

    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), primary_key=True)
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("training_sessions.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    lessons: Mapped[int] = mapped_column(default=0)
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(6, 1), default=Decimal(0))


class MemberYearTotal(Model):
    """Per member and calendar year: attended lessons and hours, kept with `AttendanceTotal`.
    Rotation cycles usually run a calendar year; their reports read this small table."""

    __tablename__ = "member_year_totals"

    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, index=True)
    lessons: Mapped[int] = mapped_column(default=0)
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(7, 1), default=Decimal(0))
