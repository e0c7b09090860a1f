"""Rotation cycles: saving them, planning cohorts onto upcoming sessions with the planner,
moving members by hand, confirming (which calls them) and closing a session's cohort work.
Who is in the population and who counts as trained is in `coverage`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.attendance.models import ATTENDED, Attendance
from lms.audit.services import record_audit
from lms.clock import local_today
from lms.database import utcnow
from lms.extensions import db
from lms.notifications.services import notify_about_session
from lms.org.models import Branch, Category, Member, Shift
from lms.rotation import planner
from lms.rotation.coverage import Coverage, coverage_states, cycle_hours
from lms.rotation.enrollment import MISSED, EnrollmentError, enroll
from lms.rotation.models import Blackout, Cohort, CohortMember, RotationCycle
from lms.sessions.models import (
    Enrollment,
    EnrollmentStatus,
    SessionStatus,
    TrainingSession,
)


@dataclass
class CycleData:
    name: str
    start_date: date
    end_date: date
    categories: set[Category]
    branch_ids: list[int]
    required_sessions: int
    required_hours: Decimal
    cap_share: Decimal


def save_cycle(data: CycleData, cycle: RotationCycle | None = None) -> RotationCycle:
    creating = cycle is None
    cycle = cycle or RotationCycle(plan_notes={})
    cycle.name = data.name
    cycle.start_date = data.start_date
    cycle.end_date = data.end_date
    cycle.set_categories(data.categories)
    cycle.branches = (
        list(db.session.scalars(sa.select(Branch).where(Branch.id.in_(data.branch_ids))))
        if data.branch_ids
        else []
    )
    cycle.required_sessions = data.required_sessions
    cycle.required_hours = data.required_hours
    cycle.cap_share = data.cap_share
    db.session.add(cycle)
    db.session.flush()
    record_audit(
        "cycle.created" if creating else "cycle.updated", "cycle", cycle.id, {"name": cycle.name}
    )
    return cycle


def upcoming_sessions(cycle: RotationCycle, today: date | None = None) -> list[TrainingSession]:
    today = today or local_today()
    return list(
        db.session.scalars(
            sa.select(TrainingSession)
            .where(
                TrainingSession.start_date > today,
                TrainingSession.start_date >= cycle.start_date,
                TrainingSession.end_date <= cycle.end_date,
                TrainingSession.status.in_([SessionStatus.PLANNED, SessionStatus.OPEN]),
            )
            .order_by(TrainingSession.start_date)
        )
    )


def _staff_sizes() -> tuple[dict[int, int], dict[int, int]]:
    rows = db.session.execute(
        sa.select(Member.shift_id, sa.func.count(Member.id))
        .where(Member.active.is_(True), Member.shift_id.is_not(None))
        .group_by(Member.shift_id)
    ).all()
    # shift_id IS NOT NULL already leaves out the members without a shift.
    shifts = {shift_id: count for shift_id, count in rows if shift_id is not None}
    departments = dict(
        db.session.execute(
            sa.select(Member.department_id, sa.func.count(Member.id))
            .where(Member.active.is_(True))
            .group_by(Member.department_id)
        ).all()
    )
    return shifts, departments


def _taken(
    sessions: list[TrainingSession], drafts_of: RotationCycle | None = None
) -> dict[int, dict[str, Any]]:
    """Per session, who is already in it: live enrollments, and a cycle's draft cohorts."""
    ids = [s.id for s in sessions]
    taken: dict[int, dict[str, Any]] = {
        sid: {"shift": Counter(), "department": Counter(), "branch": Counter(), "n": 0}
        for sid in ids
    }
    enrolled = sa.select(
        Enrollment.session_id.label("session_id"), Enrollment.member_id.label("member_id")
    ).where(Enrollment.session_id.in_(ids), Enrollment.status.not_in(MISSED))
    chosen: sa.Select | sa.CompoundSelect = enrolled
    if drafts_of is not None:
        chosen = enrolled.union_all(
            sa.select(Cohort.session_id, CohortMember.member_id)
            .join(CohortMember, CohortMember.cohort_id == Cohort.id)
            .where(
                Cohort.cycle_id == drafts_of.id,
                Cohort.session_id.in_(ids),
                Cohort.confirmed_at.is_(None),
                CohortMember.removed_at.is_(None),
            )
        )
    people = chosen.subquery()
    rows = db.session.execute(
        sa.select(
            people.c.session_id, Member.shift_id, Member.department_id, Member.branch_id
        ).join(Member, Member.id == people.c.member_id)
    )
    for session_id, shift_id, department_id, branch_id in rows:
        entry = taken[session_id]
        entry["n"] += 1
        if shift_id is not None:
            entry["shift"][shift_id] += 1
        entry["department"][department_id] += 1
        entry["branch"][branch_id] += 1
    return taken


def plan_input(
    cycle: RotationCycle,
    members: list[Member],
    sessions: list[TrainingSession],
    count_drafts: bool = False,
) -> planner.PlanInput:
    shift_sizes, department_sizes = _staff_sizes()
    taken = _taken(sessions, cycle if count_drafts else None)
    blackouts: dict[int, list[tuple[date, date]]] = {}
    for blackout in db.session.scalars(
        sa.select(Blackout).where(Blackout.member_id.in_([m.id for m in members]))
    ):
        blackouts.setdefault(blackout.member_id, []).append(
            (blackout.start_date, blackout.end_date)
        )
    earned = cycle_hours(cycle, sa.select(Member.id).where(Member.id.in_([m.id for m in members])))
    slots = [
        planner.Slot(
            session_id=s.id,
            start=s.start_date,
            end=s.end_date,
            capacity=max(0, s.capacity - taken[s.id]["n"]),
            categories=frozenset(c.value for c in s.categories),
            taken_by_shift=dict(taken[s.id]["shift"]),
            taken_by_department=dict(taken[s.id]["department"]),
            taken_by_branch=dict(taken[s.id]["branch"]),
        )
        for s in sessions
    ]
    candidates = [
        planner.Candidate(
            member_id=m.id,
            category=m.category.value,
            branch_id=m.branch_id,
            department_id=m.department_id,
            shift_id=m.shift_id,
            # Furthest behind first: the hours still missing (everyone equal without a target).
            behind=(cycle.required_hours or Decimal(0)) - earned.get(m.id, Decimal(0)),
            blackouts=tuple(sorted(blackouts.get(m.id, []))),
        )
        for m in members
    ]
    return planner.PlanInput(
        candidates=candidates,
        slots=slots,
        shift_sizes=shift_sizes,
        department_sizes=department_sizes,
        cap_share=cycle.cap_share,
    )


def draft_cohorts(cycle: RotationCycle) -> list[Cohort]:
    return list(
        db.session.scalars(
            sa.select(Cohort)
            .join(TrainingSession, TrainingSession.id == Cohort.session_id)
            .where(Cohort.cycle_id == cycle.id)
            .order_by(TrainingSession.start_date)
        )
    )


def _clear_draft(cycle: RotationCycle) -> None:
    """Forget the unconfirmed part of the last plan (confirmed cohorts stay)."""
    drafts = sa.select(Cohort.id).where(Cohort.cycle_id == cycle.id, Cohort.confirmed_at.is_(None))
    db.session.execute(sa.delete(CohortMember).where(CohortMember.cohort_id.in_(drafts)))
    db.session.execute(
        sa.delete(Cohort).where(Cohort.cycle_id == cycle.id, Cohort.confirmed_at.is_(None))
    )


def discard_plan(cycle: RotationCycle) -> int:
    """Throw away the unconfirmed cohorts (confirmed ones and their enrollments stay)."""
    discarded = db.session.execute(
        sa.select(sa.func.count(CohortMember.id))
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(
            Cohort.cycle_id == cycle.id,
            Cohort.confirmed_at.is_(None),
            CohortMember.removed_at.is_(None),
        )
    ).scalar_one()
    _clear_draft(cycle)
    cycle.plan_notes = {}
    db.session.flush()
    record_audit("cycle.plan_discarded", "cycle", cycle.id, {"members": discarded})
    return discarded


def plan_cycle(cycle: RotationCycle) -> planner.Plan:
    """Propose cohorts for everyone in the population not yet trained or planned."""
    _clear_draft(cycle)
    states = coverage_states(cycle)
    waiting = [mid for mid, state in states.items() if state == Coverage.UNPLANNED]
    members = list(db.session.scalars(sa.select(Member).where(Member.id.in_(waiting))))
    sessions = upcoming_sessions(cycle)
    result = planner.plan(plan_input(cycle, members, sessions))
    for session_id, member_ids in result.assignments.items():
        if not member_ids:
            continue
        cohort = db.session.scalar(
            sa.select(Cohort).where(Cohort.cycle_id == cycle.id, Cohort.session_id == session_id)
        )
        if cohort is None or cohort.confirmed_at is not None:
            cohort = Cohort(cycle_id=cycle.id, session_id=session_id)
            db.session.add(cohort)
            db.session.flush()
        db.session.add_all(
            CohortMember(cohort_id=cohort.id, cycle_id=cycle.id, member_id=member_id)
            for member_id in member_ids
        )
    cycle.plan_notes = {
        "at": utcnow().isoformat(),
        "unplaced": {str(mid): reason.value for mid, reason in result.unplaced.items()},
    }
    db.session.flush()
    record_audit(
        "cycle.planned",
        "cycle",
        cycle.id,
        {
            "placed": sum(len(v) for v in result.assignments.values()),
            "unplaced": len(result.unplaced),
        },
    )
    return result


@dataclass
class MoveCheck:
    refused: list[str]
    warnings: list[str]


def check_move(cycle: RotationCycle, member: Member, target: TrainingSession) -> MoveCheck:
    """What moving `member` into `target` would break, worded for the organizer. A full session
    is refused; the safety cap, category and blackout are warnings the organizer may override."""
    probe = plan_input(cycle, [member], [target], count_drafts=True)
    nobody_yet = planner.Plan(assignments={target.id: []}, unplaced={})
    shifts: dict[int | None, str] = {s.id: s.name for s in db.session.scalars(sa.select(Shift))}
    refused, warnings = [], []
    for problem in planner.check_move(probe, nobody_yet, member.id, target.id):
        code = problem.code
        if code is planner.ProblemCode.SESSION_FULL:
            refused.append(
                _("「%(title)s」已满员（%(n)d 人）。", title=target.title, n=target.capacity)
            )
        elif code is planner.ProblemCode.SHIFT_CAP:
            warnings.append(
                _(
                    "超过安全比例：%(shift)s 将有 %(count)d 人同时参训，上限 %(limit)d 人。",
                    shift=shifts.get(problem.shift_id, "?"),
                    count=problem.count,
                    limit=problem.limit,
                )
            )
        elif code is planner.ProblemCode.DEPARTMENT_CAP:
            warnings.append(
                _(
                    "超过安全比例：该部门将有 %(count)d 人同时参训，上限 %(limit)d 人。",
                    count=problem.count,
                    limit=problem.limit,
                )
            )
        elif code is planner.ProblemCode.CATEGORY_NOT_TARGETED:
            warnings.append(_("「%(title)s」不面向该学员的类别。", title=target.title))
        elif code is planner.ProblemCode.BLACKOUT:
            warnings.append(_("该期次在学员的值班/休假日期内。"))
    return MoveCheck(refused=refused, warnings=warnings)


def move_member(cycle: RotationCycle, member: Member, target: TrainingSession) -> None:
    """Move a member's draft place to another session; the old row is ended, not deleted."""
    current = db.session.scalar(
        sa.select(CohortMember).where(
            CohortMember.cycle_id == cycle.id,
            CohortMember.member_id == member.id,
            CohortMember.removed_at.is_(None),
        )
    )
    if current is not None and current.cohort.confirmed_at is not None:
        raise EnrollmentError(_("该学员所在批次已确认，请在参训名单中调整。"))
    cohort = db.session.scalar(
        sa.select(Cohort).where(
            Cohort.cycle_id == cycle.id,
            Cohort.session_id == target.id,
            Cohort.confirmed_at.is_(None),
        )
    )
    if cohort is None:
        cohort = Cohort(cycle_id=cycle.id, session_id=target.id)
        db.session.add(cohort)
        db.session.flush()
    if current is not None:
        current.removed_at = utcnow()
        db.session.flush()
    db.session.add(CohortMember(cohort_id=cohort.id, cycle_id=cycle.id, member_id=member.id))
    unplaced = dict(cycle.plan_notes.get("unplaced", {}))
    unplaced.pop(str(member.id), None)
    cycle.plan_notes = {**cycle.plan_notes, "unplaced": unplaced}
    db.session.flush()
    record_audit(
        "cycle.moved",
        "cycle",
        cycle.id,
        {
            "member": member.id,
            "from": current.cohort.session_id if current else None,
            "to": target.id,
        },
    )


def confirm_cycle(cycle: RotationCycle) -> int:
    """Confirm the draft cohorts: each member is called to their session and notified."""
    called = 0
    for cohort in draft_cohorts(cycle):
        if cohort.confirmed_at is not None:
            continue
        for row in cohort.members:
            enroll(cohort.session, row.member, cycle_id=cycle.id, check_capacity=False)
            called += 1
        cohort.confirmed_at = utcnow()
    db.session.flush()
    record_audit("cycle.confirmed", "cycle", cycle.id, {"called": called})
    return called


def close_session(session: TrainingSession) -> None:
    """When a session is completed: who attended every lesson has completed it; who did not is
    absent (and can be carried to a make-up session). Leave stays leave."""
    lesson_ids = [lesson.id for lesson in session.lessons]
    attended = Counter(
        db.session.scalars(
            sa.select(Attendance.member_id).where(
                Attendance.lesson_id.in_(lesson_ids), Attendance.status.in_(ATTENDED)
            )
        )
    )
    for item in db.session.scalars(
        sa.select(Enrollment).where(
            Enrollment.session_id == session.id,
            Enrollment.status.in_([EnrollmentStatus.INVITED, EnrollmentStatus.CONFIRMED]),
        )
    ):
        complete = bool(lesson_ids) and attended[item.member_id] >= len(lesson_ids)
        item.status = EnrollmentStatus.COMPLETED if complete else EnrollmentStatus.ABSENT
        if not complete:
            notify_about_session(item.member_id, "absent", session)
    db.session.flush()
