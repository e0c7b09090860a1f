"""The organizer's dashboard for a rotation cycle: coverage by branch, department, shift and
category, session fill, attendance rate and hours — a fixed number of queries at any size."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

import sqlalchemy as sa

from lms.attendance.models import ATTENDED, Attendance
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


def dashboard(cycle: RotationCycle, scope: set[int] | None) -> Dashboard:
    people = _people(cycle, scope)
    states = coverage_states(cycle, scope)
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
    ids_stmt = (
        sa.select(Member.id).where(Member.id.in_(member_ids))
        if scope is not None
        else (population(cycle).with_only_columns(Member.id))
    )
    return Dashboard(
        cycle=cycle,
        total=len(people),
        counts=Counter(states.values()),
        groups=groups,
        sessions=_session_fill(cycle),
        attendance_rate=_attendance_rate(cycle, ids_stmt),
        hours_bins=_hours_bins(cycle, ids_stmt, member_ids),
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
    expected = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Enrollment)
        .join(Lesson, Lesson.session_id == Enrollment.session_id)
        .where(
            Enrollment.session_id.in_(started),
            Enrollment.member_id.in_(member_ids),
            Enrollment.status.not_in([*MISSED]),
        )
    )
    if not expected:
        return None
    attended = db.session.scalar(
        sa.select(sa.func.count(Attendance.id))
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .where(
            Lesson.session_id.in_(started),
            Attendance.member_id.in_(member_ids),
            Attendance.status.in_(ATTENDED),
        )
    )
    return (Decimal(attended * 100) / expected).quantize(Decimal("0.1"))


def _hours_bins(cycle: RotationCycle, member_ids: sa.Select, everyone: list[int]):
    hours = cycle_hours(cycle, member_ids)
    edges = [0, 4, 8, 16, 24, 32, 48, 56]
    labels = [f"{a}–{b}" for a, b in pairwise(edges)] + [f"≥{edges[-1]}"]
    counts = [0] * len(labels)
    for member_id in everyone:
        value = hours.get(member_id, Decimal(0))
        index = sum(value >= edge for edge in edges[1:])
        counts[index] += 1
    return list(zip(labels, counts, strict=True))


def members_in(
    cycle: RotationCycle, scope: set[int] | None, state: str | None, group: str | None, key
) -> list[tuple[Member, str]]:
    """The drill-down: members of the population in a state and a group, with their state."""
    states = coverage_states(cycle, scope)
    stmt = population(cycle).order_by(Member.staff_no)
    if scope is not None:
        stmt = stmt.where(Member.branch_id.in_(scope))
    column = {
        "branch": Member.branch_id,
        "department": Member.department_id,
        "shift": Member.shift_id,
        "category": Member.category,
    }.get(group or "")
    if column is not None:
        stmt = stmt.where(column.is_(None) if key is None else column == key)
    members = db.session.scalars(stmt).all()
    rows = [(m, states.get(m.id, Coverage.UNPLANNED)) for m in members]
    if state == "untrained":
        return [(m, s) for m, s in rows if s != Coverage.TRAINED]
    if state in STATES:
        return [(m, s) for m, s in rows if s == state]
    return rows
