"""Online study (线上学习/补学): lesson and course recordings and each member's viewing progress."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User
from lms.database import UTCDateTime, enum_column, intpk, timestamp
from lms.enums import LabelledEnum
from lms.extensions import Model
from lms.materials.models import MaterialVersion
from lms.org.models import Member
from lms.quizzes.models import Quiz


class CreditCategory(LabelledEnum):
    """Which line of the organizer's credit rule a recording earns (学时认定标准)."""

    COURSE = "course", _l("课程")  # 30 minutes or more
    SHORT = "short", _l("短课")  # 15 to 30 minutes
    MICRO = "micro", _l("微课")  # under 15 minutes (微课)


class Recording(Model):
    """A recording (录像) of a course or lesson: one stored MP4 version, its running time, and
    an optional short quiz that must be passed before the hours are credited."""

    __tablename__ = "recordings"

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(sa.String(128))
    material_version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("material_versions.id"), index=True
    )
    duration_seconds: Mapped[int]
    quiz_id: Mapped[int | None] = mapped_column(sa.ForeignKey("quizzes.id"), index=True)
    # None: by running time, with the thresholds the organizer set.
    credit_category: Mapped[CreditCategory | None] = mapped_column(
        enum_column(CreditCategory, "credit_category")
    )
    created_at: Mapped[timestamp]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    version: Mapped[MaterialVersion] = relationship()
    quiz: Mapped[Quiz | None] = relationship()
    created_by: Mapped[User] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            "duration_seconds > 0 AND duration_seconds <= 86400", name="duration_range"
        ),
    )

    @property
    def material(self):
        return self.version.material


class ViewingProgress(Model):
    """One member's viewing of one recording. `watched` holds the stretches of the video the
    server saw played in real time ([start, end] seconds, merged); only those count."""

    __tablename__ = "viewing_progress"

    id: Mapped[intpk]
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    recording_id: Mapped[int] = mapped_column(
        sa.ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    position_seconds: Mapped[float] = mapped_column(sa.Float, default=0.0)  # where to resume
    watched: Mapped[list] = mapped_column(sa.JSON, default=list)
    watched_seconds: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[timestamp]
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    watched_through_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    credited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    credited_hours: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal(0))
    made_up: Mapped[bool] = mapped_column(default=False)  # counted as the lesson's attendance

    member: Mapped[Member] = relationship()
    recording: Mapped[Recording] = relationship()

    __table_args__ = (sa.UniqueConstraint("member_id", "recording_id"),)
