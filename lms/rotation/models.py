"""Rotation cycles (轮训周期), their cohorts (批次) and members' blackout dates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.database import UTCDateTime, enum_column, intpk, timestamp
from lms.enums import LabelledEnum
from lms.extensions import Model, db
from lms.org.models import Branch, Category, Member, TargetsCategories
from lms.sessions.models import TrainingSession

cycle_branches = sa.Table(
    "cycle_branches",
    db.metadata,
    sa.Column(
        "cycle_id", sa.ForeignKey("rotation_cycles.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("branch_id", sa.ForeignKey("branches.id"), primary_key=True),
)


class CycleCategory(Model):
    __tablename__ = "cycle_categories"

    cycle_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rotation_cycles.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[Category] = mapped_column(enum_column(Category, "category"), primary_key=True)


class RotationCycle(TargetsCategories, Model):
    """轮训周期: who must be trained (active members of some categories, maybe some branches),
    by when, and what counts as trained (sessions attended and/or hours)."""

    __tablename__ = "rotation_cycles"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    start_date: Mapped[date]
    end_date: Mapped[date]
    required_sessions: Mapped[int] = mapped_column(default=1)
    required_hours: Mapped[Decimal] = mapped_column(sa.Numeric(5, 1), default=Decimal(0))
    cap_share: Mapped[Decimal] = mapped_column(sa.Numeric(3, 2), default=Decimal("0.30"))
    # The last plan's explanations: {"at": iso time, "unplaced": {member_id: reason}}.
    plan_notes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[timestamp]

    category_rows: Mapped[list[CycleCategory]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=CycleCategory.category
    )
    branches: Mapped[list[Branch]] = relationship(secondary=cycle_branches, order_by=Branch.id)

    category_row_class = CycleCategory
    __table_args__ = (
        sa.CheckConstraint("end_date >= start_date", name="dates_in_order"),
        sa.CheckConstraint("cap_share > 0 AND cap_share <= 1", name="cap_share_range"),
    )


class Cohort(Model):
    """批次: the part of a cycle's population planned into one session."""

    __tablename__ = "cohorts"

    id: Mapped[intpk]
    cycle_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rotation_cycles.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_sessions.id"), index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[timestamp]

    cycle: Mapped[RotationCycle] = relationship()
    session: Mapped[TrainingSession] = relationship()
    members: Mapped[list[CohortMember]] = relationship(
        back_populates="cohort",
        primaryjoin="and_(Cohort.id == CohortMember.cohort_id, CohortMember.removed_at.is_(None))",
        viewonly=True,
    )

    __table_args__ = (sa.UniqueConstraint("cycle_id", "session_id"),)


class CohortMember(Model):
    """A member in a cohort. Moving a member ends this row and starts another: history stays."""

    __tablename__ = "cohort_members"

    id: Mapped[intpk]
    cohort_id: Mapped[int] = mapped_column(
        sa.ForeignKey("cohorts.id", ondelete="CASCADE"), index=True
    )
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("rotation_cycles.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    added_at: Mapped[timestamp]
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    cohort: Mapped[Cohort] = relationship(back_populates="members")
    member: Mapped[Member] = relationship()

    __table_args__ = (
        # Each member of the population is in one cohort per cycle at a time.
        sa.Index(
            "uq_cohort_members_one_per_cycle",
            "cycle_id",
            "member_id",
            unique=True,
            sqlite_where=sa.text("removed_at IS NULL"),
            postgresql_where=sa.text("removed_at IS NULL"),
        ),
    )


class BlackoutReason(LabelledEnum):
    ON_DUTY = "on_duty", _l("值班/检修")
    ON_LEAVE = "on_leave", _l("休假")
    OTHER = "other", _l("其他")


class Blackout(Model):
    """Dates a member cannot be called to training."""

    __tablename__ = "blackouts"

    id: Mapped[intpk]
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    start_date: Mapped[date]
    end_date: Mapped[date]
    reason: Mapped[BlackoutReason] = mapped_column(enum_column(BlackoutReason, "blackout_reason"))
    note: Mapped[str] = mapped_column(sa.String(200), default="")

    member: Mapped[Member] = relationship()

    __table_args__ = (sa.CheckConstraint("end_date >= start_date", name="dates_in_order"),)
