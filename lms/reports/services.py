"""The organizer's dashboard for a rotation cycle: coverage by branch, department, shift and
category, session fill, attendance rate and hours — counted by the database from kept totals, in
a fixed number of queries whatever the number of members or attendance rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from lms.attendance.models import Attendance, AttendanceTotal, MemberYearTotal
from lms.clock import local_today
from lms.enums import LabelledEnum
from lms.extensions import db
from lms.org.models import Branch, Category, Department, Member, Shift
from lms.rotation.coverage import (
    Coverage,
    completed_select,
    coverage_states,
    cycle_hours_select,
    planned_select,
    population,
    whole_years,
)
from lms.rotation.enrollment import MISSED
from lms.rotation.models import RotationCycle
from lms.sessions.models import Enrollment, Lesson, SessionStatus, TrainingSession

STATES = (Coverage.TRAINED, Coverage.PLANNED, Coverage.UNPLANNED)


class Grouping(LabelledEnum):
    """What the dashboard breaks the population down by."""

    BRANCH = "branch", _l("党支部")
    DEPARTMENT = "department", _l("部门")
    SHIFT = "shift", _l("班组")
    CATEGORY = "category", _l("类别")


GROUPS = tuple(Grouping)
HOURS_EDGES = (0, 4, 8, 16, 24, 32, 48, 56)


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
    groups: dict[Grouping, list[GroupRow]]
    sessions: list[tuple[TrainingSession, int]]
    attendance: AttendanceRate
    hours_bins: list[tuple[str, int]]


def _ids(cycle: RotationCycle, scope: set[int] | None) -> sa.Select:
    stmt = population(cycle).with_only_columns(Member.id)
    return stmt.where(Member.branch_id.in_(scope)) if scope is not None else stmt


def _grouped_counts(cycle: RotationCycle, scope: set[int] | None) -> Sequence[sa.Row]:
    """Population counts by branch, department, shift, category, coverage state and hours band,
    counted by the database: a few hundred rows come back, whatever the number of members."""
    chosen = population(cycle).with_only_columns(
        Member.id, Member.branch_id, Member.department_id, Member.shift_id, Member.category
    )
    if scope is not None:
        chosen = chosen.where(Member.branch_id.in_(scope))
    people = chosen.subquery()
    hours = cycle_hours_select(cycle, sa.select(people.c.id)).subquery()
    completed = completed_select(cycle).subquery()
    planned = planned_select(cycle).subquery()
    got = sa.func.coalesce(hours.c.hours, 0)
    state = sa.case(
        (
            sa.and_(
                sa.func.coalesce(completed.c.n, 0) >= cycle.required_sessions,
                got >= (cycle.required_hours or 0),
            ),
            Coverage.TRAINED,
        ),
        (planned.c.member_id.is_not(None), Coverage.PLANNED),
        else_=Coverage.UNPLANNED,
    ).label("state")
    band = sa.case(
        *((got < edge, index) for index, edge in enumerate(HOURS_EDGES[1:])),
        else_=len(HOURS_EDGES) - 1,
    ).label("band")
    columns = (
        people.c.branch_id,
        people.c.department_id,
        people.c.shift_id,
        people.c.category,
        state,
        band,
    )
    return db.session.execute(
        sa.select(*columns, sa.func.count())
        .select_from(people)
        .outerjoin(hours, hours.c.member_id == people.c.id)
        .outerjoin(completed, completed.c.member_id == people.c.id)
        .outerjoin(planned, planned.c.member_id == people.c.id)
        .group_by(*columns)
    ).all()


def dashboard(cycle: RotationCycle, scope: set[int] | None) -> Dashboard:
    names: dict[str, dict[Any, str]] = {
        "branch": dict(db.session.execute(sa.select(Branch.id, Branch.name)).all()),
        "department": dict(db.session.execute(sa.select(Department.id, Department.name)).all()),
        "shift": dict(db.session.execute(sa.select(Shift.id, Shift.name)).all()),
        "category": {c: c.label for c in Category},
    }
    grouped: dict[str, dict[object, Counter]] = {g: defaultdict(Counter) for g in GROUPS}
    counts: Counter = Counter()
    bands = [0] * len(HOURS_EDGES)
    for branch_id, department_id, shift_id, category, state, band, n in _grouped_counts(
        cycle, scope
    ):
        category = Category(category)
        grouped["branch"][branch_id][state] += n
        grouped["department"][department_id][state] += n
        grouped["shift"][shift_id][state] += n
        grouped["category"][category][state] += n
        counts[state] += n
        bands[band] += n
    groups = {
        g: sorted(
            (
                GroupRow(key=key, label=names[g].get(key) or "—", counts=c)
                for key, c in grouped[g].items()
            ),
            key=lambda row: row.label,
        )
        for g in GROUPS
    }
    labels = [f"{a}–{b}" for a, b in pairwise(HOURS_EDGES)] + [f"≥{HOURS_EDGES[-1]}"]
    return Dashboard(
        cycle=cycle,
        total=sum(counts.values()),
        counts=counts,
        groups=groups,
        sessions=_session_fill(cycle),
        attendance=_attendance_rate(cycle, _ids(cycle, scope)),
        hours_bins=list(zip(labels, bands, strict=True)),
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


@dataclass
class AttendanceRate:
    """Attended lesson places over expected ones; `rate` is None when nothing was recorded.
    `unrecorded` are started sessions with no attendance at all: left out of the rate, so a
    session nobody took attendance for neither hides behind 100 % nor drags it to 0 %."""

    rate: Decimal | None
    unrecorded: list[str]


def _attendance_rate(cycle: RotationCycle, member_ids: sa.Select) -> AttendanceRate:
    """The attendance rate in the cycle's sessions that have started (by status or by date)."""
    started = db.session.execute(
        sa.select(
            TrainingSession.id,
            TrainingSession.title,
            sa.select(Attendance.id)
            .join(Lesson, Lesson.id == Attendance.lesson_id)
            .where(Lesson.session_id == TrainingSession.id)
            .exists()
            .label("recorded"),
        )
        .where(
            TrainingSession.start_date >= cycle.start_date,
            TrainingSession.start_date <= cycle.end_date,
            sa.or_(
                TrainingSession.status.in_([SessionStatus.IN_PROGRESS, SessionStatus.COMPLETED]),
                sa.and_(
                    TrainingSession.status != SessionStatus.CANCELLED,
                    TrainingSession.start_date <= local_today(),
                ),
            ),
        )
        .order_by(TrainingSession.start_date)
    ).all()
    recorded = [session_id for session_id, _title, has in started if has]
    unrecorded = [title for _id, title, has in started if not has]
    lessons = dict(
        db.session.execute(
            sa.select(Lesson.session_id, sa.func.count(Lesson.id))
            .where(Lesson.session_id.in_(recorded))
            .group_by(Lesson.session_id)
        ).all()
    )
    enrolled = db.session.execute(
        sa.select(Enrollment.session_id, sa.func.count(Enrollment.id))
        .where(
            Enrollment.session_id.in_(recorded),
            Enrollment.member_id.in_(member_ids),
            Enrollment.in_session,
        )
        .group_by(Enrollment.session_id)
    ).all()
    expected = sum(count * lessons.get(session_id, 0) for session_id, count in enrolled)
    if not expected:
        return AttendanceRate(rate=None, unrecorded=unrecorded)
    if (years := whole_years(cycle)) is not None:
        # Lessons are only attended once held: a whole year's total is the started sessions'.
        attended = db.session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(MemberYearTotal.lessons), 0)).where(
                MemberYearTotal.year.in_(list(years)), MemberYearTotal.member_id.in_(member_ids)
            )
        ).scalar_one()
    else:
        attended = db.session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(AttendanceTotal.lessons), 0)).where(
                AttendanceTotal.session_id.in_(recorded),
                AttendanceTotal.member_id.in_(member_ids),
            )
        ).scalar_one()
    rate = min(Decimal(attended * 100) / expected, Decimal(100))
    return AttendanceRate(rate=rate.quantize(Decimal("0.1")), unrecorded=unrecorded)


def members_in(
    cycle: RotationCycle,
    scope: set[int] | None,
    state: str | None,
    group: str | None,
    key,
    limit: int | None = None,
) -> tuple[list[tuple[Member, Coverage]], int]:
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
