"""Plan 3,000 members over 12 sessions in a few seconds (rotation cohort planner, pure Python).

A plant-like population: 4 departments, 5 round-the-clock shifts plus day work, 7 categories
weighted like the roster generator (mostly ordinary members), 60 branches, ~5 % with a blackout;
12 monthly two-day sessions of 260 seats, a few of them for cadres / party workers only.
Reports the median of 5 runs, placed and unplaced counts by reason, and the largest share of any
shift or department that one session takes (must stay within the 30 % cap). A second, "tight"
run gives the same people only 4 sessions of 900 seats, so the safety cap is what binds."""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from lms.rotation.planner import Candidate, Plan, PlanInput, Slot, plan

MEMBERS = 3000
SESSIONS = 12
CAPACITY = 260
REPEATS = 5
BRANCHES = 60
DEPARTMENTS = (1, 2, 3, 4)
SHIFTS = (1, 2, 3, 4, 5, None)  # None = day work
SHIFT_WEIGHTS = (14, 14, 14, 14, 14, 30)
CATEGORIES = (
    ("cadre", 7),
    ("party_worker", 5),
    ("member", 55),
    ("probationary", 8),
    ("activist", 10),
    ("league_member", 9),
    ("youth", 6),
)
TARGETED = {3: frozenset({"cadre", "party_worker"}), 9: frozenset({"cadre", "party_worker"})}
YEAR = 2025
TIGHT_SESSIONS = 4
TIGHT_CAPACITY = 900


def generate(seed: int = 11, sessions: int = SESSIONS, capacity: int = CAPACITY) -> PlanInput:
    rnd = random.Random(seed)
    names, weights = zip(*CATEGORIES, strict=True)
    candidates = []
    for i in range(MEMBERS):
        branch = rnd.randrange(BRANCHES)
        department = DEPARTMENTS[branch % len(DEPARTMENTS)]  # a branch lives in one department
        blackouts: tuple[tuple[date, date], ...] = ()
        if rnd.random() < 0.05:
            first = date(YEAR, 1, 1) + timedelta(days=rnd.randrange(365))
            blackouts = ((first, first + timedelta(days=rnd.randrange(7, 60))),)
        candidates.append(
            Candidate(
                member_id=100_000 + i,
                category=rnd.choices(names, weights)[0],
                branch_id=1 + branch,
                department_id=department,
                shift_id=rnd.choices(SHIFTS, SHIFT_WEIGHTS)[0],
                behind=Decimal(rnd.choice((0, 4, 8, 8, 12, 16, 16, 16, 24, 32))),
                blackouts=blackouts,
            )
        )
    shift_sizes = Counter(c.shift_id for c in candidates if c.shift_id is not None)
    department_sizes = Counter(c.department_id for c in candidates)
    slots = []
    for month in range(1, sessions + 1):
        start = date(YEAR, month, 10)
        slots.append(
            Slot(
                session_id=month,
                start=start,
                end=start + timedelta(days=1),
                capacity=capacity,
                categories=TARGETED.get(month, frozenset()),
            )
        )
    rnd.shuffle(slots)
    return PlanInput(candidates, slots, dict(shift_sizes), dict(department_sizes))


def max_shares(plan_input: PlanInput, result: Plan) -> tuple[float, float]:
    """Largest share of one shift, and of one department, that any single session takes."""
    by_id = {c.member_id: c for c in plan_input.candidates}
    shift_share = department_share = 0.0
    for members in result.assignments.values():
        shifts = Counter(by_id[m].shift_id for m in members if by_id[m].shift_id is not None)
        departments = Counter(by_id[m].department_id for m in members)
        for s, n in shifts.items():
            shift_share = max(shift_share, n / plan_input.shift_sizes[s])
        for d, n in departments.items():
            department_share = max(department_share, n / plan_input.department_sizes[d])
    return shift_share, department_share


def _measure(plan_input: PlanInput, prefix: str) -> dict[str, object]:
    timings, result = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = plan(plan_input)
        timings.append(time.perf_counter() - start)
    assert result is not None
    shift_share, department_share = max_shares(plan_input, result)
    figures: dict[str, object] = {
        "plan_s_median": round(statistics.median(timings), 3),
        "placed": sum(len(members) for members in result.assignments.values()),
        "fullest_session": max(len(m) for m in result.assignments.values()),
        "max_shift_share": round(shift_share, 3),
        "max_department_share": round(department_share, 3),
    }
    for reason, count in sorted(Counter(result.unplaced.values()).items()):
        figures[f"unplaced_{reason}"] = count
    cap = float(plan_input.cap_share)
    assert shift_share <= cap and department_share <= cap, figures
    return {prefix + key: value for key, value in figures.items()}


def run() -> dict[str, object]:
    figures: dict[str, object] = {
        "members": MEMBERS,
        "sessions": SESSIONS,
        "capacity": CAPACITY,
        "repeats": REPEATS,
        "target_plan_s": 3.0,
        "cap_share": 0.3,
    }
    figures |= _measure(generate(), "")
    figures |= _measure(generate(sessions=TIGHT_SESSIONS, capacity=TIGHT_CAPACITY), "tight_")
    for key, value in figures.items():
        print(f"planner.{key}: {value}")
    return figures


if __name__ == "__main__":
    run()
