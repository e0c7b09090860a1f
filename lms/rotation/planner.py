"""Cohort planner for rotation training (全员轮训): place each member into one upcoming session.

Pure code: no database, no app (the reasons carry lazy labels that only a request translates).
The caller loads candidates, slots and staff sizes, calls `plan()`, and stores the result;
`check_move()` warns an organizer who moves someone by hand.

Rules (hard, never broken by `plan()`):

* A candidate is placed at most once, and only into a slot that targets their category
  (`Slot.categories` empty = every category), whose dates [start, end] overlap none of their
  inclusive blackout ranges, and that still has a free seat (`Slot.capacity` = seats still free).
* Safety cap: after adding them, the slot's count for their shift must stay within
  `cap_limit(shift_sizes[shift], cap_share)` and the count for their department within
  `cap_limit(department_sizes[department], cap_share)`. Counts include people already in the
  session (`Slot.taken_by_shift` / `taken_by_department`). Day workers (`shift_id=None`) are
  capped by department only.
* `cap_limit(size, share)` is floor(size * share), but at least 1 for any non-empty group: a
  shift of 2 at 30 % would otherwise never be allowed to train. An empty group (size 0) gets 0.

Heuristics (soft, deterministic):

1. Priority: candidates are taken one by one, furthest behind first (`behind` descending),
   ties by `member_id` ascending. A member ahead in this order is never displaced by one behind.
2. Choice of slot, among the slots the member can legally join: the one with the fewest members
   of the member's branch so far (spreads a branch over the year so no branch is emptied in one
   month; counts `taken_by_branch` too), then the earliest start date (people behind are trained
   soon, earlier sessions fill first), then the lowest `session_id`.
3. Greedy and monotone: counts only grow, so a member found unplaceable stays unplaceable. The
   plan is therefore maximal: no unplaced member could be added to any slot without breaking a
   rule. It does not search for a larger plan by moving members already placed.
4. The unplaced reason is the most specific one that blocked them, checked in this order:
   NO_SESSION_FOR_CATEGORY (no slot targets them), BLACKOUT (every targeting slot overlaps a
   blackout), CAPACITY (every remaining slot is full), SAFETY_CAP (some have seats, but each of
   those is at the shift or department cap).
5. Input order does not matter (candidates and slots are sorted internally); in the result,
   `assignments` lists every slot (by start date, then session_id) and member ids ascending,
   and `unplaced` is ordered by member_id.

Cost: O(candidates x slots) with dict counters (measured by bench/planner.py).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from flask_babel import lazy_gettext as _l

from lms.enums import LabelledEnum

__all__ = [
    "Candidate",
    "Plan",
    "PlanInput",
    "Problem",
    "ProblemCode",
    "Reason",
    "Slot",
    "cap_limit",
    "check_move",
    "plan",
]

DEFAULT_CAP_SHARE = Decimal("0.30")


@dataclass(frozen=True)
class Candidate:
    """A member who still has to be trained in this rotation cycle."""

    member_id: int
    category: str  # e.g. "member", "probationary", "cadre" …
    branch_id: int
    department_id: int
    shift_id: int | None  # None = day work (no shift)
    behind: Decimal  # how far behind (e.g. hours still missing); larger = more urgent
    blackouts: tuple[tuple[date, date], ...] = ()  # inclusive ranges when unavailable


@dataclass(frozen=True)
class Slot:
    """An upcoming session that can take a cohort."""

    session_id: int
    start: date
    end: date
    capacity: int  # seats still free
    categories: frozenset[str] = frozenset()  # empty = open to every category
    taken_by_shift: Mapping[int, int] = field(default_factory=dict)  # already in the session
    taken_by_department: Mapping[int, int] = field(default_factory=dict)
    taken_by_branch: Mapping[int, int] = field(default_factory=dict)  # only for spreading


@dataclass(frozen=True)
class PlanInput:
    candidates: Sequence[Candidate]
    slots: Sequence[Slot]
    shift_sizes: Mapping[int, int]  # total active staff per shift (denominator of the cap)
    department_sizes: Mapping[int, int]
    cap_share: Decimal = DEFAULT_CAP_SHARE  # max share of one shift/department per session


class Reason(LabelledEnum):
    """Why a candidate was left out of the plan (most specific first)."""

    NO_SESSION_FOR_CATEGORY = "no_session_for_category", _l("没有面向其类别的期次")
    BLACKOUT = "blackout", _l("可选期次都在其值班/休假日期内")
    CAPACITY = "capacity", _l("可选期次都已满员")
    SAFETY_CAP = "safety_cap", _l("可选期次已达到班组/部门的安全比例上限")


@dataclass
class Plan:
    assignments: dict[int, list[int]]  # session_id -> member_ids (ascending)
    unplaced: dict[int, Reason]  # member_id -> why

    def session_of(self, member_id: int) -> int | None:
        """The session a member is placed in, or None."""
        for session_id, members in self.assignments.items():
            if member_id in members:
                return session_id
        return None


class ProblemCode(enum.StrEnum):
    """What moving a member into a session would break."""

    CATEGORY_NOT_TARGETED = "category_not_targeted"
    BLACKOUT = "blackout"
    SESSION_FULL = "session_full"
    SHIFT_CAP = "shift_cap"
    DEPARTMENT_CAP = "department_cap"


@dataclass(frozen=True)
class Problem:
    """One broken rule, with the numbers the caller needs to word a warning.

    SESSION_FULL: `limit` = seats, `count` = people after the move.
    SHIFT_CAP / DEPARTMENT_CAP: `shift_id` / `department_id`, `limit` = the cap, `count` = that
    group's people in the session after the move (including those already taken before planning).
    CATEGORY_NOT_TARGETED: `category`. BLACKOUT: `blackout` = the overlapping range."""

    code: ProblemCode
    session_id: int
    limit: int | None = None
    count: int | None = None
    shift_id: int | None = None
    department_id: int | None = None
    category: str | None = None
    blackout: tuple[date, date] | None = None


def cap_limit(size: int, share: Decimal) -> int:
    """Most people of a group of `size` one session may take: floor(size * share), at least 1
    when size > 0 (a tiny shift can still train, one person at a time), 0 for an empty group."""
    if size <= 0:
        return 0
    limit = int((Decimal(size) * Decimal(share)).to_integral_value(rounding=ROUND_FLOOR))
    return max(limit, 1)


class _Load:
    """Running counts of one slot while planning."""

    __slots__ = ("branch", "department", "free", "members", "order", "shift", "slot")

    def __init__(self, slot: Slot, order: int) -> None:
        self.slot = slot
        self.order = order
        self.free = slot.capacity
        self.shift: dict[int, int] = dict(slot.taken_by_shift)
        self.department: dict[int, int] = dict(slot.taken_by_department)
        self.branch: dict[int, int] = dict(slot.taken_by_branch)
        self.members: list[int] = []


def _overlap(blackouts: tuple[tuple[date, date], ...], slot: Slot) -> tuple[date, date] | None:
    for first, last in blackouts:
        if first <= slot.end and slot.start <= last:
            return (first, last)
    return None


def _targets(slot: Slot, category: str) -> bool:
    return not slot.categories or category in slot.categories


def _check_share(share: Decimal) -> Decimal:
    share = Decimal(share)
    if not share.is_finite() or not Decimal(0) < share <= Decimal(1):
        raise ValueError(f"cap_share must be in (0, 1], got {share}")
    return share


def _sorted_slots(slots: Sequence[Slot]) -> list[Slot]:
    seen: set[int] = set()
    for slot in slots:
        if slot.session_id in seen:
            raise ValueError(f"session {slot.session_id} appears twice")
        seen.add(slot.session_id)
        if slot.end < slot.start:
            raise ValueError(f"session {slot.session_id} ends before it starts")
    return sorted(slots, key=lambda s: (s.start, s.session_id))


def _sorted_candidates(plan_input: PlanInput) -> list[Candidate]:
    seen: set[int] = set()
    for c in plan_input.candidates:
        if c.member_id in seen:
            raise ValueError(f"member {c.member_id} appears twice")
        seen.add(c.member_id)
        if not Decimal(c.behind).is_finite():
            raise ValueError(f"member {c.member_id}: behind must be a finite number")
        if c.shift_id is not None and c.shift_id not in plan_input.shift_sizes:
            raise ValueError(f"member {c.member_id}: no size for shift {c.shift_id}")
        if c.department_id not in plan_input.department_sizes:
            raise ValueError(f"member {c.member_id}: no size for department {c.department_id}")
        for first, last in c.blackouts:
            if last < first:
                raise ValueError(f"member {c.member_id}: blackout ends before it starts")
    return sorted(plan_input.candidates, key=lambda c: (-c.behind, c.member_id))


def plan(plan_input: PlanInput) -> Plan:
    """Place candidates into slots under the rules and heuristics in the module docstring."""
    share = _check_share(plan_input.cap_share)
    loads = [_Load(slot, i) for i, slot in enumerate(_sorted_slots(plan_input.slots))]
    candidates = _sorted_candidates(plan_input)
    shift_limit = {s: cap_limit(n, share) for s, n in plan_input.shift_sizes.items()}
    department_limit = {d: cap_limit(n, share) for d, n in plan_input.department_sizes.items()}

    unplaced: dict[int, Reason] = {}
    for c in candidates:
        shift, department, branch = c.shift_id, c.department_id, c.branch_id
        s_limit = shift_limit[shift] if shift is not None else 0
        d_limit = department_limit[department]
        best: _Load | None = None
        best_key: tuple[int, int] = (0, 0)
        targeted = available = seated = False
        for load in loads:
            slot = load.slot
            if slot.categories and c.category not in slot.categories:
                continue
            targeted = True
            if c.blackouts and _overlap(c.blackouts, slot) is not None:
                continue
            available = True
            if load.free <= 0:
                continue
            seated = True
            if shift is not None and load.shift.get(shift, 0) >= s_limit:
                continue
            if load.department.get(department, 0) >= d_limit:
                continue
            key = (load.branch.get(branch, 0), load.order)
            if best is None or key < best_key:
                best, best_key = load, key
        if best is None:
            if not targeted:
                unplaced[c.member_id] = Reason.NO_SESSION_FOR_CATEGORY
            elif not available:
                unplaced[c.member_id] = Reason.BLACKOUT
            elif not seated:
                unplaced[c.member_id] = Reason.CAPACITY
            else:
                unplaced[c.member_id] = Reason.SAFETY_CAP
            continue
        best.free -= 1
        if shift is not None:
            best.shift[shift] = best.shift.get(shift, 0) + 1
        best.department[department] = best.department.get(department, 0) + 1
        best.branch[branch] = best.branch.get(branch, 0) + 1
        best.members.append(c.member_id)

    return Plan(
        assignments={load.slot.session_id: sorted(load.members) for load in loads},
        unplaced=dict(sorted(unplaced.items())),
    )


def check_move(
    plan_input: PlanInput, plan: Plan, member_id: int, to_session_id: int
) -> list[Problem]:
    """What putting `member_id` into session `to_session_id` would break, given `plan` (the
    member leaves wherever they are now). Empty list = the move is fine, or they are already
    there. Raises LookupError for an unknown member or session."""
    candidates = {c.member_id: c for c in plan_input.candidates}
    slots = {s.session_id: s for s in plan_input.slots}
    try:
        candidate = candidates[member_id]
    except KeyError:
        raise LookupError(f"member {member_id} is not a candidate") from None
    try:
        slot = slots[to_session_id]
    except KeyError:
        raise LookupError(f"session {to_session_id} is not a slot") from None
    members = plan.assignments.get(to_session_id, [])
    if member_id in members:
        return []

    share = _check_share(plan_input.cap_share)
    problems: list[Problem] = []
    if not _targets(slot, candidate.category):
        problems.append(
            Problem(ProblemCode.CATEGORY_NOT_TARGETED, to_session_id, category=candidate.category)
        )
    blackout = _overlap(candidate.blackouts, slot)
    if blackout is not None:
        problems.append(Problem(ProblemCode.BLACKOUT, to_session_id, blackout=blackout))
    if len(members) + 1 > slot.capacity:
        problems.append(
            Problem(
                ProblemCode.SESSION_FULL,
                to_session_id,
                limit=max(slot.capacity, 0),
                count=len(members) + 1,
            )
        )
    others = [candidates[m] for m in members if m in candidates]
    shift = candidate.shift_id
    if shift is not None:
        limit = cap_limit(plan_input.shift_sizes.get(shift, 0), share)
        count = slot.taken_by_shift.get(shift, 0) + 1
        count += sum(1 for o in others if o.shift_id == shift)
        if count > limit:
            problems.append(
                Problem(
                    ProblemCode.SHIFT_CAP, to_session_id, limit=limit, count=count, shift_id=shift
                )
            )
    department = candidate.department_id
    limit = cap_limit(plan_input.department_sizes.get(department, 0), share)
    count = slot.taken_by_department.get(department, 0) + 1
    count += sum(1 for o in others if o.department_id == department)
    if count > limit:
        problems.append(
            Problem(
                ProblemCode.DEPARTMENT_CAP,
                to_session_id,
                limit=limit,
                count=count,
                department_id=department,
            )
        )
    return problems
