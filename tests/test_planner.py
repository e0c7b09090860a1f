"""The rotation cohort planner: hard rules as properties, heuristics and reasons by example."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lms.rotation.planner import (
    Candidate,
    Plan,
    PlanInput,
    ProblemCode,
    Reason,
    Slot,
    cap_limit,
    check_move,
    plan,
)

pytestmark = pytest.mark.once  # no database

CATEGORIES = ("member", "probationary", "cadre")
BASE = date(2025, 1, 1)
PROPERTY = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# ---------------------------------------------------------------- strategies


@st.composite
def plan_inputs(draw) -> PlanInput:
    shift_pool = draw(
        st.lists(st.one_of(st.none(), st.integers(1, 9)), min_size=1, max_size=6, unique=True)
    )
    department_pool = list(range(1, draw(st.integers(1, 4)) + 1))
    member_ids = draw(st.lists(st.integers(1, 10_000), max_size=40, unique=True))
    candidates = []
    for member_id in member_ids:
        blackouts = []
        for _ in range(draw(st.integers(0, 2))):
            first = BASE + timedelta(days=draw(st.integers(0, 60)))
            blackouts.append((first, first + timedelta(days=draw(st.integers(0, 10)))))
        candidates.append(
            Candidate(
                member_id=member_id,
                category=draw(st.sampled_from(CATEGORIES)),
                branch_id=draw(st.integers(1, 5)),
                department_id=draw(st.sampled_from(department_pool)),
                shift_id=draw(st.sampled_from(shift_pool)),
                behind=Decimal(draw(st.integers(0, 12))) / 2,
                blackouts=tuple(blackouts),
            )
        )
    shifts = [s for s in shift_pool if s is not None]
    shift_sizes = {
        s: sum(c.shift_id == s for c in candidates) + draw(st.integers(0, 10)) for s in shifts
    }
    department_sizes = {
        d: sum(c.department_id == d for c in candidates) + draw(st.integers(0, 10))
        for d in department_pool
    }
    slots = []
    for session_id in draw(st.lists(st.integers(1, 500), max_size=6, unique=True)):
        start = BASE + timedelta(days=draw(st.integers(0, 70)))
        slots.append(
            Slot(
                session_id=session_id,
                start=start,
                end=start + timedelta(days=draw(st.integers(0, 2))),
                capacity=draw(st.integers(0, 12)),
                categories=frozenset(draw(st.sets(st.sampled_from(CATEGORIES), max_size=2))),
                taken_by_shift=draw(
                    st.dictionaries(st.sampled_from(shifts or [0]), st.integers(0, 3))
                ),
                taken_by_department=draw(
                    st.dictionaries(st.sampled_from(department_pool), st.integers(0, 3))
                ),
            )
        )
    share = draw(st.sampled_from([Decimal("0.1"), Decimal("0.3"), Decimal("0.5"), Decimal(1)]))
    return PlanInput(candidates, slots, shift_sizes, department_sizes, share)


# ---------------------------------------------------------------- oracles (not using the module)


def _floor_cap(size: int, share: Decimal) -> int:
    return 0 if size <= 0 else max(1, int(size * share))  # int() truncates, size*share >= 0


def _fits(c: Candidate, slot: Slot) -> bool:
    """Category and dates allow it (ignoring seats and caps)."""
    if slot.categories and c.category not in slot.categories:
        return False
    return all(last < slot.start or first > slot.end for first, last in c.blackouts)


def _counts(pi: PlanInput, result: Plan, slot: Slot):
    by_id = {c.member_id: c for c in pi.candidates}
    shifts = dict(slot.taken_by_shift)
    departments = dict(slot.taken_by_department)
    for m in result.assignments[slot.session_id]:
        c = by_id[m]
        if c.shift_id is not None:
            shifts[c.shift_id] = shifts.get(c.shift_id, 0) + 1
        departments[c.department_id] = departments.get(c.department_id, 0) + 1
    return shifts, departments


def _full(result: Plan, slot: Slot) -> bool:
    return len(result.assignments[slot.session_id]) >= slot.capacity


def _at_cap(pi: PlanInput, result: Plan, slot: Slot, c: Candidate) -> bool:
    shifts, departments = _counts(pi, result, slot)
    if c.shift_id is not None and shifts.get(c.shift_id, 0) >= _floor_cap(
        pi.shift_sizes[c.shift_id], pi.cap_share
    ):
        return True
    limit = _floor_cap(pi.department_sizes[c.department_id], pi.cap_share)
    return departments.get(c.department_id, 0) >= limit


# ---------------------------------------------------------------- properties


@PROPERTY
@given(plan_inputs())
def test_capacity_and_caps_are_never_exceeded(pi):
    result = plan(pi)
    for slot in pi.slots:
        assert len(result.assignments[slot.session_id]) <= max(slot.capacity, 0)
        shifts, departments = _counts(pi, result, slot)
        placed_shifts, placed_departments = {}, {}
        by_id = {c.member_id: c for c in pi.candidates}
        for m in result.assignments[slot.session_id]:
            c = by_id[m]
            placed_shifts[c.shift_id] = placed_shifts.get(c.shift_id, 0) + 1
            placed_departments[c.department_id] = placed_departments.get(c.department_id, 0) + 1
        for s in placed_shifts:
            if s is not None:
                assert shifts[s] <= _floor_cap(pi.shift_sizes[s], pi.cap_share)
        for d in placed_departments:
            assert departments[d] <= _floor_cap(pi.department_sizes[d], pi.cap_share)


@PROPERTY
@given(plan_inputs())
def test_everyone_appears_exactly_once(pi):
    result = plan(pi)
    placed = [m for members in result.assignments.values() for m in members]
    assert len(placed) == len(set(placed))
    assert not set(placed) & set(result.unplaced)
    assert set(placed) | set(result.unplaced) == {c.member_id for c in pi.candidates}
    assert set(result.assignments) == {s.session_id for s in pi.slots}


@PROPERTY
@given(plan_inputs())
def test_placed_only_where_category_and_dates_allow(pi):
    result = plan(pi)
    by_id = {c.member_id: c for c in pi.candidates}
    for slot in pi.slots:
        for m in result.assignments[slot.session_id]:
            assert _fits(by_id[m], slot)
            assert check_move(pi, result, m, slot.session_id) == []


@PROPERTY
@given(plan_inputs(), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(pi, rnd):
    candidates, slots = list(pi.candidates), list(pi.slots)
    rnd.shuffle(candidates)
    rnd.shuffle(slots)
    shuffled = PlanInput(candidates, slots, pi.shift_sizes, pi.department_sizes, pi.cap_share)
    first, second = plan(pi), plan(shuffled)
    assert first == second
    assert list(first.assignments.items()) == list(second.assignments.items())
    assert list(first.unplaced.items()) == list(second.unplaced.items())


@PROPERTY
@given(plan_inputs())
def test_plan_is_maximal_and_reasons_are_true(pi):
    """Nobody unplaced could simply be added to any slot, and each reason says why."""
    result = plan(pi)
    slots_for = {c.member_id: c for c in pi.candidates}
    for member_id, reason in result.unplaced.items():
        c = slots_for[member_id]
        targeting = [s for s in pi.slots if not s.categories or c.category in s.categories]
        fitting = [s for s in targeting if _fits(c, s)]
        if reason is Reason.NO_SESSION_FOR_CATEGORY:
            assert not targeting
        elif reason is Reason.BLACKOUT:
            assert targeting and not fitting
        elif reason is Reason.CAPACITY:
            assert fitting and all(_full(result, s) for s in fitting)
        else:
            assert reason is Reason.SAFETY_CAP
            assert fitting and all(_full(result, s) or _at_cap(pi, result, s, c) for s in fitting)
        for s in pi.slots:
            assert check_move(pi, result, member_id, s.session_id), (member_id, s)


@PROPERTY
@given(plan_inputs())
def test_more_behind_is_never_left_out_for_less_behind_of_same_profile(pi):
    """Two candidates alike in every respect but `behind`: the one further behind is not
    unplaced while the other is placed."""
    result = plan(pi)
    profile = {}
    for c in pi.candidates:
        key = (c.category, c.shift_id, c.department_id, c.blackouts)
        profile.setdefault(key, []).append(c)
    for group in profile.values():
        for a in group:
            for b in group:
                if a.behind > b.behind and a.member_id in result.unplaced:
                    assert b.member_id in result.unplaced


# ---------------------------------------------------------------- examples


def person(member_id, behind=0, *, category="member", branch=1, department=1, shift=1, off=()):
    return Candidate(member_id, category, branch, department, shift, Decimal(behind), tuple(off))


def slot(session_id, day, capacity=100, categories=(), **taken):
    start = BASE + timedelta(days=day)
    return Slot(
        session_id, start, start + timedelta(days=1), capacity, frozenset(categories), **taken
    )


def big(candidates, slots, shifts=None, departments=None, share=Decimal("0.30")):
    """An input where caps only bite where the test says so."""
    return PlanInput(
        candidates, slots, shifts or {1: 1000, 2: 1000}, departments or {1: 1000, 2: 1000}, share
    )


def test_cap_limit():
    share = Decimal("0.30")
    assert cap_limit(10, share) == 3
    assert cap_limit(9, share) == 2
    assert cap_limit(100, share) == 30
    assert cap_limit(2, share) == 1  # a tiny shift can still train
    assert cap_limit(1, share) == 1
    assert cap_limit(0, share) == 0
    assert cap_limit(7, Decimal(1)) == 7


def test_furthest_behind_first_when_seats_are_short():
    pi = big([person(1, 2), person(2, 9), person(3, 5), person(4, 5)], [slot(10, 0, capacity=2)])
    result = plan(pi)
    assert result.assignments == {10: [2, 3]}  # 9 then 5 (tie 3/4: lower id)
    assert result.unplaced == {1: Reason.CAPACITY, 4: Reason.CAPACITY}


def test_thirty_percent_of_a_shift_of_ten_is_three_per_session():
    people = [person(i, shift=7) for i in range(1, 11)]
    result = plan(big(people, [slot(10, 0), slot(11, 30)], shifts={7: 10}))
    assert len(result.assignments[10]) == 3 and len(result.assignments[11]) == 3
    assert list(result.unplaced.values()) == [Reason.SAFETY_CAP] * 4


def test_tiny_shift_of_two_still_trains_one_per_session():
    result = plan(big([person(1, shift=7), person(2, shift=7)], [slot(10, 0)], shifts={7: 2}))
    assert result.assignments == {10: [1]}
    assert result.unplaced == {2: Reason.SAFETY_CAP}


def test_department_cap_and_day_workers():
    """Day workers (no shift) are capped by their department only."""
    people = [person(i, shift=None, department=2) for i in range(1, 7)]
    result = plan(big(people, [slot(10, 0)], departments={2: 10}))
    assert result.assignments == {10: [1, 2, 3]}
    assert set(result.unplaced.values()) == {Reason.SAFETY_CAP}


def test_people_already_in_the_session_count_towards_the_cap():
    people = [person(i, shift=7) for i in range(1, 5)]
    taken = slot(10, 0, taken_by_shift={7: 2})
    result = plan(big(people, [taken], shifts={7: 10}))
    assert result.assignments == {10: [1]}


def test_each_unplaced_reason():
    people = [
        person(1, category="youth"),  # no session for youth
        person(2, off=[(BASE, BASE + timedelta(days=40))]),  # both sessions in the blackout
        person(3, 9, shift=2),  # takes the last seat of session 11
        person(4, 1, shift=2),  # session 10 has seats but is at the cap for shift 2; 11 full
    ]
    members = {"member"}
    slots = [
        slot(10, 0, capacity=5, categories=members, taken_by_shift={2: 3}),
        slot(11, 30, capacity=1, categories=members),
    ]
    result = plan(big(people, slots, shifts={1: 100, 2: 10}))
    assert result.assignments == {10: [], 11: [3]}
    assert result.unplaced == {
        1: Reason.NO_SESSION_FOR_CATEGORY,
        2: Reason.BLACKOUT,
        4: Reason.SAFETY_CAP,
    }
    only_full = plan(big([person(6), person(7)], [slot(10, 0, capacity=1)]))
    assert only_full.unplaced == {7: Reason.CAPACITY}


def test_category_targeted_sessions():
    people = [person(1, category="cadre"), person(2, category="member")]
    result = plan(big(people, [slot(10, 0, categories={"cadre"})]))
    assert result.assignments == {10: [1]}
    assert result.unplaced == {2: Reason.NO_SESSION_FOR_CATEGORY}


def test_blackout_sends_member_to_a_later_session():
    off = [(BASE, BASE + timedelta(days=1))]  # touches the first session's last day only
    result = plan(big([person(1, off=off)], [slot(10, 0), slot(11, 30)]))
    assert result.assignments == {10: [], 11: [1]}


def test_earliest_session_first():
    result = plan(big([person(1)], [slot(10, 60), slot(12, 30), slot(11, 30)]))
    assert result.assignments[11] == [1]  # earliest start, then lowest session_id
    assert list(result.assignments) == [11, 12, 10]


def test_branches_are_spread_over_sessions():
    """Without spreading, the two most-behind (both branch 1) would share the first session."""
    people = [
        person(1, 9, branch=1),
        person(2, 8, branch=1),
        person(3, 7, branch=2),
        person(4, 6, branch=2),
    ]
    result = plan(big(people, [slot(10, 0, capacity=2), slot(11, 30, capacity=2)]))
    assert result.assignments == {10: [1, 3], 11: [2, 4]}


def test_branch_already_in_a_session_counts_for_spreading():
    result = plan(big([person(1, branch=4)], [slot(10, 0, taken_by_branch={4: 1}), slot(11, 30)]))
    assert result.assignments == {10: [], 11: [1]}


def test_check_move_reports_full_session_cap_and_category():
    people = [
        person(1, 3, shift=7),
        person(2, 2, shift=7),
        person(3, 1, shift=7, category="probationary"),
        person(4, 0, shift=8, off=[(BASE + timedelta(days=30), BASE + timedelta(days=30))]),
    ]
    slots = [slot(10, 0, capacity=1), slot(11, 30, capacity=5, categories={"member"})]
    pi = big(people, slots, shifts={7: 5, 8: 5})
    result = plan(pi)
    assert result.assignments == {10: [1], 11: [2]}
    # 3: session 10 is full and session 11 is not for probationers; 4: 11 is in the blackout
    assert result.unplaced == {3: Reason.CAPACITY, 4: Reason.CAPACITY}

    full = check_move(pi, result, 2, 10)
    assert [(p.code, p.limit, p.count) for p in full] == [
        (ProblemCode.SESSION_FULL, 1, 2),
        (ProblemCode.SHIFT_CAP, 1, 2),  # 1 is shift 7 too
    ]

    capped = check_move(pi, result, 1, 11)  # shift 7 of 5 at 30 %: limit 1, would be 2
    assert [(p.code, p.shift_id, p.limit, p.count) for p in capped] == [
        (ProblemCode.SHIFT_CAP, 7, 1, 2)
    ]

    wrong = check_move(pi, result, 3, 11)
    assert [p.code for p in wrong] == [ProblemCode.CATEGORY_NOT_TARGETED, ProblemCode.SHIFT_CAP]
    assert wrong[0].category == "probationary"

    off = check_move(pi, result, 4, 11)
    assert [p.code for p in off] == [ProblemCode.BLACKOUT]
    assert off[0].blackout == (BASE + timedelta(days=30), BASE + timedelta(days=30))

    assert check_move(pi, result, 1, 10) == []  # already there


def test_check_move_reports_department_cap():
    people = [person(i, shift=None, department=2) for i in (1, 2)]
    pi = big(people, [slot(10, 0), slot(11, 30)], departments={2: 3})
    result = plan(pi)
    assert result.assignments == {10: [1], 11: [2]}
    [problem] = check_move(pi, result, 2, 10)
    assert (problem.code, problem.department_id, problem.limit, problem.count) == (
        ProblemCode.DEPARTMENT_CAP,
        2,
        1,
        2,
    )
    assert result.session_of(2) == 11 and result.session_of(99) is None


def test_check_move_unknown_ids():
    pi = big([person(1)], [slot(10, 0)])
    result = plan(pi)
    with pytest.raises(LookupError):
        check_move(pi, result, 2, 10)
    with pytest.raises(LookupError):
        check_move(pi, result, 1, 11)


@pytest.mark.parametrize(
    "pi",
    [
        big([person(1), person(1)], [slot(10, 0)]),
        big([person(1)], [slot(10, 0), slot(10, 30)]),
        big([person(1, shift=9)], [slot(10, 0)]),
        big([person(1, department=9)], [slot(10, 0)]),
        big([person(1, off=[(BASE + timedelta(days=2), BASE)])], [slot(10, 0)]),
        big([person(1)], [slot(10, 0)], share=Decimal(0)),
        big([person(1)], [slot(10, 0)], share=Decimal("1.5")),
    ],
    ids=["twice", "session-twice", "no-shift-size", "no-dept-size", "blackout", "zero", "over"],
)
def test_bad_input_is_refused(pi):
    with pytest.raises(ValueError):
        plan(pi)
