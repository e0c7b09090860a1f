"""The organizer's dashboard for a rotation cycle: coverage by branch, department, shift and
category, session fill, attendance rate and hours — a fixed number of queries at any size."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from lms.attendance.models import AttendanceTotal
from lms.auth.models import Role, User
from lms.extensions import db
from lms.org.models import CATEGORY_LABELS, Branch, Department, Member, Shift
from lms.org.services import secretary_branch_ids
from lms.rotation.enrollment import MISSED
from lms.rotation.models import RotationCycle
from lms.rotation.services import Coverage, coverage_states, cycle_hours, population
from lms.sessions.models import Enrollment, Lesson, SessionStatus, TrainingSession

STATES = (Coverage.TRAINED, Coverage.PLANNED, Coverage.UNPLANNED)
GROUPS = ("branch", "department", "shift", "category")


def can_view_reports(user: User) -> bool:
    return user.has_role(Role.ORGANIZER) or bool(secretary_branch_ids(user))


def scope_of(user: User) -> set[int] | None:
    """None means every branch (organizers); otherwise the branches the user may see."""
    return None if user.has_role(Role.ORGANIZER) else secretary_branch_ids(user)


@dataclass
class GroupRow:
    key: object
    label: str
    counts: Counter

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Dashboard:
    cycle: RotationCycle
    total: int
    counts: Counter
    groups: dict[str, list[GroupRow]]
    sessions: list[tuple[TrainingSession, int]]
    attendance_rate: Decimal | None
    hours_bins: list[tuple[str, int]]


def _people(cycle: RotationCycle, scope: set[int] | None) -> list:
    stmt = population(cycle).with_only_columns(
        Member.id, Member.branch_id, Member.department_id, Member.shift_id, Member.category
    )
    if scope is not None:
        stmt = stmt.where(Member.branch_id.in_(scope))
    return db.session.execute(stmt).all()


def _ids(cycle: RotationCycle, scope: set[int] | None) -> sa.Select:
    stmt = population(cycle).with_only_columns(Member.id)
    return stmt.where(Member.branch_id.in_(scope)) if scope is not None else stmt


def dashboard(cycle: RotationCycle, scope: set[int] | None) -> Dashboard:
    people = _people(cycle, scope)
    hours = cycle_hours(cycle, _ids(cycle, scope))
    states = coverage_states(cycle, scope, hours=hours)
    names = {
        "branch": dict(db.session.execute(sa.select(Branch.id, Branch.name)).all()),
        "department": dict(db.session.execute(sa.select(Department.id, Department.name)).all()),
        "shift": dict(db.session.execute(sa.select(Shift.id, Shift.name)).all()),
        "category": {c: str(label) for c, label in CATEGORY_LABELS.items()},
    }
    grouped: dict[str, dict[object, Counter]] = {g: defaultdict(Counter) for g in GROUPS}
    for member_id, branch_id, department_id, shift_id, category in people:
        state = states.get(member_id, Coverage.UNPLANNED)
        grouped["branch"][branch_id][state] += 1
        grouped["department"][department_id][state] += 1
        grouped["shift"][shift_id][state] += 1
        grouped["category"][category][state] += 1
    groups = {
        g: sorted(
            (
                GroupRow(key=key, label=names[g].get(key) or "—", counts=counts)
                for key, counts in grouped[g].items()
            ),
            key=lambda row: row.label,
        )
        for g in GROUPS
    }
    member_ids = [row[0] for row in people]
    return Dashboard(
        cycle=cycle,
        total=len(people),
        counts=Counter(states.values()),
        groups=groups,
        sessions=_session_fill(cycle),
        attendance_rate=_attendance_rate(cycle, _ids(cycle, scope)),
        hours_bins=_hours_bins(hours, member_ids),
    )


def _session_fill(cycle: RotationCycle) -> list[tuple[TrainingSession, int]]:
    sessions = db.session.scalars(
        sa.select(TrainingSession)
        .where(
            TrainingSession.start_date >= cycle.start_date,
            TrainingSession.start_date <= cycle.end_date,
            TrainingSession.status != SessionStatus.CANCELLED,
        )
        .order_by(TrainingSession.start_date)
    ).all()
    taken = dict(
        db.session.execute(
            sa.select(Enrollment.session_id, sa.func.count(Enrollment.id))
            .where(
                Enrollment.session_id.in_([s.id for s in sessions]),
                Enrollment.status.not_in(MISSED),
            )
            .group_by(Enrollment.session_id)
        ).all()
    )
    return [(s, taken.get(s.id, 0)) for s in sessions]


def _attendance_rate(cycle: RotationCycle, member_ids: sa.Select) -> Decimal | None:
    """Attended lesson places over expected ones, in the cycle's sessions that have started."""
    started = sa.select(TrainingSession.id).where(
        TrainingSession.start_date >= cycle.start_date,
        TrainingSession.start_date <= cycle.end_date,
        TrainingSession.status.in_([SessionStatus.IN_PROGRESS, SessionStatus.COMPLETED]),
    )
    lessons = dict(
        db.session.execute(
            sa.select(Lesson.session_id, sa.func.count(Lesson.id))
            .where(Lesson.session_id.in_(started))
            .group_by(Lesson.session_id)
        ).all()
    )
    enrolled = db.session.execute(
        sa.select(Enrollment.session_id, sa.func.count(Enrollment.id))
        .where(
            Enrollment.session_id.in_(started),
            Enrollment.member_id.in_(member_ids),
            Enrollment.status.not_in([*MISSED]),
        )
        .group_by(Enrollment.session_id)
    ).all()
    expected = sum(count * lessons.get(session_id, 0) for session_id, count in enrolled)
    if not expected:
        return None
    attended = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(AttendanceTotal.lessons), 0)).where(
            AttendanceTotal.session_id.in_(started), AttendanceTotal.member_id.in_(member_ids)
        )
    )
    return (Decimal(attended * 100) / expected).quantize(Decimal("0.1"))


def _hours_bins(hours: dict[int, Decimal], everyone: list[int]) -> list[tuple[str, int]]:
    edges = [0, 4, 8, 16, 24, 32, 48, 56]
    labels = [f"{a}–{b}" for a, b in pairwise(edges)] + [f"≥{edges[-1]}"]
    counts = [0] * len(labels)
    for member_id in everyone:
        value = hours.get(member_id, Decimal(0))
        counts[sum(value >= edge for edge in edges[1:])] += 1
    return list(zip(labels, counts, strict=True))


def members_in(
    cycle: RotationCycle,
    scope: set[int] | None,
    state: str | None,
    group: str | None,
    key,
    limit: int | None = None,
) -> tuple[list[tuple[Member, str]], int]:
    """The drill-down: members in a state and a group, with their state, and how many there are
    in all (only the first `limit` are loaded)."""
    states = coverage_states(cycle, scope)
    column = {
        "branch": Member.branch_id,
        "department": Member.department_id,
        "shift": Member.shift_id,
        "category": Member.category,
    }.get(group or "")
    ids = _ids(cycle, scope).order_by(Member.staff_no)
    if column is not None:
        ids = ids.where(column.is_(None) if key is None else column == key)
    chosen = [
        member_id
        for member_id in db.session.scalars(ids)
        if state is None
        or (state == "untrained" and states.get(member_id) != Coverage.TRAINED)
        or states.get(member_id, Coverage.UNPLANNED) == state
    ]
    shown = chosen[:limit] if limit is not None else chosen
    members = (
        {
            m.id: m
            for m in db.session.scalars(
                sa.select(Member)
                .where(Member.id.in_(shown))
                .options(selectinload(Member.branch), selectinload(Member.shift))
            )
        }
        if shown
        else {}
    )
    rows = [(members[i], states.get(i, Coverage.UNPLANNED)) for i in shown if i in members]
    return rows, len(chosen)
