"""Who a cycle is for and how far each member is: its population, the hours and sessions that
count, the planned cohorts, and each member's coverage (trained, planned, unplanned)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from lms.attendance.models import AttendanceTotal, MemberYearTotal
from lms.enums import LabelledEnum
from lms.extensions import db
from lms.org.models import Member
from lms.rotation.enrollment import MISSED
from lms.rotation.models import Cohort, CohortMember, RotationCycle
from lms.sessions.models import (
    Enrollment,
    EnrollmentStatus,
    TrainingSession,
)


def population(cycle: RotationCycle) -> sa.Select:
    """Active members of the cycle's categories (and branches, when it names some)."""
    stmt = sa.select(Member).where(Member.active.is_(True))
    if cycle.categories:
        stmt = stmt.where(Member.category.in_(cycle.categories))
    if cycle.branches:
        stmt = stmt.where(Member.branch_id.in_([b.id for b in cycle.branches]))
    return stmt


def whole_years(cycle: RotationCycle) -> range | None:
    """The calendar years a cycle covers exactly (most cycles run 1 January to 31 December)."""
    start, end = cycle.start_date, cycle.end_date
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31):
        return range(start.year, end.year + 1)
    return None


def cycle_hours_select(cycle: RotationCycle, member_ids: sa.Select) -> sa.Select:
    """(member_id, hours) earned in the cycle's sessions, from the kept totals."""
    if (years := whole_years(cycle)) is not None:
        return (
            sa.select(MemberYearTotal.member_id, sa.func.sum(MemberYearTotal.hours).label("hours"))
            .where(MemberYearTotal.year.in_(list(years)), MemberYearTotal.member_id.in_(member_ids))
            .group_by(MemberYearTotal.member_id)
        )
    return (
        sa.select(AttendanceTotal.member_id, sa.func.sum(AttendanceTotal.hours).label("hours"))
        .join(TrainingSession, TrainingSession.id == AttendanceTotal.session_id)
        .where(
            TrainingSession.start_date >= cycle.start_date,
            TrainingSession.start_date <= cycle.end_date,
            AttendanceTotal.member_id.in_(member_ids),
        )
        .group_by(AttendanceTotal.member_id)
    )


def cycle_hours(cycle: RotationCycle, member_ids: sa.Select) -> dict[int, Decimal]:
    """Hours earned in the cycle's sessions, per member."""
    rows = db.session.execute(cycle_hours_select(cycle, member_ids))
    return {member_id: Decimal(total or 0) for member_id, total in rows}


def planned_select(cycle: RotationCycle) -> sa.CompoundSelect:
    """Members with a place in the cycle: a confirmed cohort, or a live enrollment. A draft plan
    places nobody until the organizer confirms it."""
    return sa.union(
        sa.select(CohortMember.member_id)
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(
            CohortMember.cycle_id == cycle.id,
            CohortMember.removed_at.is_(None),
            Cohort.confirmed_at.is_not(None),
        ),
        sa.select(Enrollment.member_id).where(
            Enrollment.cycle_id == cycle.id, Enrollment.status.not_in(MISSED)
        ),
    )


def completed_select(cycle: RotationCycle) -> sa.Select:
    return (
        sa.select(Enrollment.member_id, sa.func.count(Enrollment.id).label("n"))
        .where(Enrollment.cycle_id == cycle.id, Enrollment.status == EnrollmentStatus.COMPLETED)
        .group_by(Enrollment.member_id)
    )


class Coverage(LabelledEnum):
    """Where a member of a cycle's population stands."""

    TRAINED = "trained", _l("已完成")
    PLANNED = "planned", _l("已安排")
    UNPLANNED = "unplanned", _l("未安排")


def is_trained(cycle: RotationCycle, completed_sessions: int, hours: Decimal) -> bool:
    """The cycle's completion rule: enough sessions completed and enough hours earned."""
    return completed_sessions >= cycle.required_sessions and hours >= (cycle.required_hours or 0)


def coverage_states(
    cycle: RotationCycle,
    branch_ids: set[int] | None = None,
    hours: dict[int, Decimal] | None = None,
) -> dict[int, Coverage]:
    """Each population member's state: trained, planned (cohort or live enrollment) or not.
    A fixed number of queries whatever the population's size."""
    member_ids = population(cycle).with_only_columns(Member.id)
    if branch_ids is not None:
        member_ids = member_ids.where(Member.branch_id.in_(branch_ids))
    completed = dict(db.session.execute(completed_select(cycle)).all())
    if hours is None:
        hours = cycle_hours(cycle, member_ids) if cycle.required_hours else {}
    planned = set(db.session.scalars(planned_select(cycle)))
    states = {}
    for member_id in db.session.scalars(member_ids):
        if is_trained(cycle, completed.get(member_id, 0), hours.get(member_id, Decimal(0))):
            states[member_id] = Coverage.TRAINED
        elif member_id in planned:
            states[member_id] = Coverage.PLANNED
        else:
            states[member_id] = Coverage.UNPLANNED
    return states


@dataclass
class MemberPlan:
    """Where one member stands in one cycle: their coverage state, the session they are (or
    were last) called to in it, and their progress against its completion rule."""

    cycle: RotationCycle
    state: Coverage
    session: TrainingSession | None
    completed_sessions: int
    hours: Decimal


def member_plans(member: Member) -> list[MemberPlan]:
    """The cycles `member` is in the population of, or was placed in, latest first. Uses the
    same population, completion, hours and planned queries as the cycle's own pages: one
    query per cycle, plus two."""
    cycles = db.session.scalars(
        sa.select(RotationCycle)
        .options(selectinload(RotationCycle.branches))
        .order_by(RotationCycle.start_date.desc(), RotationCycle.id.desc())
    ).all()
    # The session each cycle placed the member in: their cohort's, or the latest enrollment's.
    placed: dict[int, TrainingSession] = {}
    for cycle_id, session in db.session.execute(
        sa.select(CohortMember.cycle_id, TrainingSession)
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .join(TrainingSession, TrainingSession.id == Cohort.session_id)
        .where(
            CohortMember.member_id == member.id,
            CohortMember.removed_at.is_(None),
            Cohort.confirmed_at.is_not(None),
        )
    ):
        placed[cycle_id] = session
    for enrolled_for, session in db.session.execute(
        sa.select(Enrollment.cycle_id, TrainingSession)
        .join(TrainingSession, TrainingSession.id == Enrollment.session_id)
        .where(Enrollment.member_id == member.id, Enrollment.cycle_id.is_not(None))
        .order_by(TrainingSession.start_date, Enrollment.id)
    ):
        assert enrolled_for is not None  # chosen by cycle_id IS NOT NULL
        placed[enrolled_for] = session
    plans = []
    this_member = sa.select(sa.literal(member.id))
    for cycle in cycles:
        people = population(cycle).with_only_columns(Member.id)
        completed = completed_select(cycle).subquery()
        hours = cycle_hours_select(cycle, this_member).subquery()
        planned = planned_select(cycle).subquery()
        in_population, done, got, is_planned = db.session.execute(
            sa.select(
                people.where(Member.id == member.id).exists(),
                sa.select(completed.c.n)
                .where(completed.c.member_id == member.id)
                .scalar_subquery(),
                sa.select(hours.c.hours).scalar_subquery(),
                sa.select(planned.c.member_id).where(planned.c.member_id == member.id).exists(),
            )
        ).one()
        if not in_population and cycle.id not in placed:
            continue
        done, got = done or 0, Decimal(got or 0)
        if is_trained(cycle, done, got):
            state = Coverage.TRAINED
        elif is_planned:
            state = Coverage.PLANNED
        else:
            state = Coverage.UNPLANNED
        plans.append(MemberPlan(cycle, state, placed.get(cycle.id), done, got))
    return plans
