"""Training sessions (期次), their timetable of lessons (课次) and who is enrolled."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User
from lms.catalog.models import Course
from lms.clock import local_today, to_local
from lms.database import UTCDateTime, enum_column, intpk, timestamp, utcnow
from lms.enums import LabelledEnum
from lms.extensions import Model
from lms.org.models import Category, Member, TargetsCategories


class SessionStatus(LabelledEnum):
    PLANNED = "planned", _l("计划中")
    OPEN = "open", _l("报名中")
    IN_PROGRESS = "in_progress", _l("进行中")
    COMPLETED = "completed", _l("已结束")
    CANCELLED = "cancelled", _l("已取消")


# Where a session may go from each status. Going back from "open" to "planned" is allowed
# (enrolment opened too early); completed and cancelled sessions are final.
NEXT_STATUSES: dict[SessionStatus, tuple[SessionStatus, ...]] = {
    SessionStatus.PLANNED: (SessionStatus.OPEN, SessionStatus.CANCELLED),
    SessionStatus.OPEN: (SessionStatus.IN_PROGRESS, SessionStatus.PLANNED, SessionStatus.CANCELLED),
    SessionStatus.IN_PROGRESS: (SessionStatus.COMPLETED, SessionStatus.CANCELLED),
    SessionStatus.COMPLETED: (),
    SessionStatus.CANCELLED: (),
}


class SessionCategory(Model):
    """A category of trainee the session is meant for."""

    __tablename__ = "session_categories"

    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("training_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[Category] = mapped_column(
        enum_column(Category, "category"), primary_key=True, index=True
    )


class TrainingSession(TargetsCategories, Model):
    """期次: one concentrated training, normally two consecutive days a month."""

    __tablename__ = "training_sessions"

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(sa.String(64), unique=True)
    start_date: Mapped[date] = mapped_column(index=True)
    end_date: Mapped[date]
    venue: Mapped[str] = mapped_column(sa.String(128), default="")
    capacity: Mapped[int]
    enrolment_deadline: Mapped[date | None]
    status: Mapped[SessionStatus] = mapped_column(
        enum_column(SessionStatus, "session_status"), default=SessionStatus.PLANNED, index=True
    )
    cancel_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # Completion (结业) rule: share of the lessons' hours attended, whether lateness counts as
    # present, and whether the session's quiz must be passed.
    completion_percent: Mapped[int] = mapped_column(default=100, server_default="100")
    late_counts: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    quiz_required: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[timestamp]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    category_rows: Mapped[list[SessionCategory]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=SessionCategory.category
    )
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="session", order_by="Lesson.starts_at", cascade="all, delete-orphan"
    )

    category_row_class = SessionCategory
    __table_args__ = (
        sa.CheckConstraint("end_date >= start_date", name="dates_in_order"),
        sa.CheckConstraint("capacity > 0", name="capacity_positive"),
    )

    @property
    def days(self) -> list[date]:
        return [
            self.start_date + timedelta(days=n)
            for n in range((self.end_date - self.start_date).days + 1)
        ]

    @property
    def due_for_completion(self) -> bool:
        """In progress although its last day has passed: waiting for the organizer to close it."""
        return self.status is SessionStatus.IN_PROGRESS and self.end_date < local_today()

    def __repr__(self) -> str:
        return f"<TrainingSession {self.title}>"


class Lesson(Model):
    """课次: one slot of a session's timetable."""

    __tablename__ = "lessons"

    id: Mapped[intpk]
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True
    )
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id"), index=True)
    lecturer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    room: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[timestamp]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    session: Mapped[TrainingSession] = relationship(back_populates="lessons")
    course: Mapped[Course] = relationship()
    lecturer: Mapped[User | None] = relationship()

    __table_args__ = (sa.CheckConstraint("ends_at > starts_at", name="times_in_order"),)

    @property
    def local_start(self) -> datetime:
        return to_local(self.starts_at)

    @property
    def local_end(self) -> datetime:
        return to_local(self.ends_at)

    @property
    def day(self) -> date:
        return self.local_start.date()


class EnrollmentStatus(LabelledEnum):
    INVITED = "invited", _l("已通知")
    CONFIRMED = "confirmed", _l("已确认")
    LEAVE_REQUESTED = "leave_requested", _l("请假待批")
    LEAVE_APPROVED = "leave_approved", _l("已准假")
    ABSENT = "absent", _l("缺席")
    COMPLETED = "completed", _l("已结业")


# The one definition of "enrolled in this session" (see Enrollment.in_session): the member
# was called and is coming, or has finished it. Not enrolled: a pending leave request (they
# have said they are not coming), approved leave and absence (a make-up session, if any,
# has its own enrollment). Seat counting is a different question: see rotation.enrollment.
ENROLLED = frozenset(
    {EnrollmentStatus.INVITED, EnrollmentStatus.CONFIRMED, EnrollmentStatus.COMPLETED}
)


LIVE_IN_CYCLE = (
    "cycle_id IS NOT NULL AND status IN ('invited', 'confirmed', 'leave_requested', 'completed')"
)


class Enrollment(Model):
    """调训: a member called to a session."""

    __tablename__ = "enrollments"

    id: Mapped[intpk]
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    status: Mapped[EnrollmentStatus] = mapped_column(
        enum_column(EnrollmentStatus, "enrollment_status"), default=EnrollmentStatus.INVITED
    )
    cycle_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("rotation_cycles.id", ondelete="SET NULL"), index=True
    )
    makeup_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enrollments.id"))
    leave_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[timestamp]

    session: Mapped[TrainingSession] = relationship()
    member: Mapped[Member] = relationship()
    makeup_of: Mapped[Enrollment | None] = relationship(remote_side="Enrollment.id")

    @hybrid_property
    def in_session(self) -> bool:
        """Whether this enrollment puts the member in the session: they may take its quiz,
        see its enrolled-only materials, find its lessons in their timetable and sign in.
        Invited, confirmed and completed count; leave requested or approved and absent do not.
        In SQL, `Enrollment.in_session` is the same test as a WHERE clause."""
        return self.status in ENROLLED

    @in_session.inplace.expression
    @classmethod
    def _in_session_expression(cls) -> sa.ColumnElement[bool]:
        return cls.status.in_(ENROLLED)

    __table_args__ = (
        sa.UniqueConstraint("session_id", "member_id"),
        # No double enrollment in one cycle: one live enrollment per member; a missed one
        # (leave approved, absent) may be followed by a make-up (补训).
        sa.Index(
            "uq_enrollments_one_live_per_cycle",
            "cycle_id",
            "member_id",
            unique=True,
            sqlite_where=sa.text(LIVE_IN_CYCLE),
            postgresql_where=sa.text(LIVE_IN_CYCLE),
        ),
    )
