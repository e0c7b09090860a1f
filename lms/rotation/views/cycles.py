"""Organizer pages for rotation cycles: the population, planning cohorts, moves, confirmation."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from lms.access import is_organizer, load, roles_required
from lms.auth.models import Role
from lms.extensions import db
from lms.forms import ConfirmForm, bounded_int, choices, picked_staff_no
from lms.org.models import Branch, Member
from lms.rotation import coverage, planner, services
from lms.rotation.enrollment import EnrollmentError
from lms.rotation.forms import CycleForm, MoveForm
from lms.rotation.models import RotationCycle
from lms.sessions.models import TrainingSession
from lms.transaction import atomic


@roles_required(Role.ORGANIZER)
def cycles():
    rows = db.session.scalars(sa.select(RotationCycle).order_by(RotationCycle.start_date.desc()))
    return render_template("rotation/cycles.html", cycles=list(rows))


def _cycle_form(cycle: RotationCycle | None = None) -> CycleForm:
    form = CycleForm(obj=cycle)
    form.branch_ids.choices = choices(
        (b.id, b.name)
        for b in db.session.scalars(sa.select(Branch).order_by(Branch.position, Branch.id))
    )
    if cycle is not None and request.method == "GET":
        form.branch_ids.data = [b.id for b in cycle.branches]
        form.cap_percent.data = int(cycle.cap_share * 100)
    return form


def _cycle_data(form: CycleForm) -> services.CycleData:
    assert form.required_hours.data is not None  # InputRequired: called on a validated form
    return services.CycleData(
        name=form.name.data,
        start_date=form.start_date.data,
        end_date=form.end_date.data,
        categories=set(form.categories.data),
        branch_ids=list(form.branch_ids.data or []),
        required_sessions=form.required_sessions.data,
        required_hours=form.required_hours.data,
        cap_share=Decimal(form.cap_percent.data) / 100,
    )


@roles_required(Role.ORGANIZER)
def create_cycle():
    form = _cycle_form()
    if form.validate_on_submit():
        cycle = services.save_cycle(_cycle_data(form))
        return redirect(url_for("rotation.cycle", cycle_id=cycle.id))
    return render_template("rotation/cycle_form.html", form=form, cycle=None)


@roles_required(Role.ORGANIZER)
def edit_cycle(cycle_id: int):
    cycle = load(RotationCycle, cycle_id, is_organizer)
    form = _cycle_form(cycle)
    if form.validate_on_submit():
        services.save_cycle(_cycle_data(form), cycle)
        flash(_("已保存。"), "success")
        return redirect(url_for("rotation.cycle", cycle_id=cycle.id))
    return render_template("rotation/cycle_form.html", form=form, cycle=cycle)


UNPLACED_PER_PAGE = 50


def _unplaced_groups(cycle: RotationCycle) -> tuple[list[dict], str | None]:
    """The members the plan could not place, grouped by reason (most specific first); the
    group named by ?reason= is paged by ?page=, the others show their count and the fix."""
    by_reason: dict[planner.Reason, list[int]] = {}
    for key, value in cycle.plan_notes.get("unplaced", {}).items():
        by_reason.setdefault(planner.Reason(value), []).append(int(key))
    shown = request.args.get("reason")
    if shown not in {r.value for r in by_reason}:
        shown = next(iter(r.value for r in planner.Reason if r in by_reason), None)
    groups = []
    for reason in planner.Reason:
        ids = by_reason.get(reason)
        if not ids:
            continue
        group = {"reason": reason, "label": reason.label, "count": len(ids)}
        if reason.value == shown:
            group["page"] = db.paginate(
                sa.select(Member).where(Member.id.in_(ids)).order_by(Member.staff_no),
                page=request.args.get("page", 1, type=bounded_int),
                per_page=UNPLACED_PER_PAGE,
                max_per_page=UNPLACED_PER_PAGE,
                error_out=False,
            )
        groups.append(group)
    return groups, shown


@roles_required(Role.ORGANIZER)
def cycle(cycle_id: int):
    cycle = load(RotationCycle, cycle_id, is_organizer)
    states = coverage.coverage_states(cycle)
    groups, shown = _unplaced_groups(cycle)
    return render_template(
        "rotation/cycle.html",
        cycle=cycle,
        counts=Counter(states.values()),
        total=len(states),
        cohorts=services.draft_cohorts(cycle),
        unplaced_groups=groups,
        unplaced_shown=shown,
        unplaced_total=len(cycle.plan_notes.get("unplaced", {})),
        sessions=services.upcoming_sessions(cycle),
        confirm=ConfirmForm(),
        move_form=MoveForm(staff_no=picked_staff_no()),
    )


@roles_required(Role.ORGANIZER)
def plan_cycle(cycle_id: int):
    cycle = load(RotationCycle, cycle_id, is_organizer)
    result = services.plan_cycle(cycle)
    placed = sum(len(v) for v in result.assignments.values())
    flash(
        _(
            "已生成方案：安排 %(placed)d 人，%(unplaced)d 人无法安排（见下方原因）。请核对后确认。",
            placed=placed,
            unplaced=len(result.unplaced),
        ),
        "success",
    )
    return redirect(url_for("rotation.cycle", cycle_id=cycle.id))


@roles_required(Role.ORGANIZER)
def move(cycle_id: int):
    cycle = load(RotationCycle, cycle_id, is_organizer)
    form = MoveForm()
    back = redirect(url_for("rotation.cycle", cycle_id=cycle.id))
    if not form.validate_on_submit():
        flash(_("请填写工号和期次。"), "warning")
        return back
    member = db.session.scalar(sa.select(Member).where(Member.staff_no == form.staff_no.data))
    target = db.session.get(TrainingSession, form.session_id.data)
    if member is None or target is None:
        flash(_("没有找到该工号或期次。"), "warning")
        return back
    check = services.check_move(cycle, member, target)
    if check.refused:
        for message in check.refused:
            flash(_("不能调整：%(reason)s", reason=message), "danger")
        return back
    if check.warnings and not form.force.data:
        for message in check.warnings:
            flash(message, "warning")
        flash(_("如确需调整，请勾选“已知悉”后再提交。"), "warning")
        return back
    try:
        with atomic():
            services.move_member(cycle, member, target)
    except EnrollmentError as exc:
        flash(exc.message, "warning")
        return back
    flash(_("已将 %(name)s 调入「%(title)s」。", name=member.name, title=target.title), "success")
    return back


@roles_required(Role.ORGANIZER)
def confirm_cycle(cycle_id: int):
    cycle = load(RotationCycle, cycle_id, is_organizer)
    try:
        with atomic():
            called = services.confirm_cycle(cycle)
    except EnrollmentError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已确认，%(n)d 人已收到调训通知。", n=called), "success")
    return redirect(url_for("rotation.cycle", cycle_id=cycle.id))


@roles_required(Role.ORGANIZER)
def discard_plan(cycle_id: int):
    cycle = load(RotationCycle, cycle_id, is_organizer)
    discarded = services.discard_plan(cycle)
    flash(_("已放弃未确认的方案（%(n)d 人）。", n=discarded), "success")
    return redirect(url_for("rotation.cycle", cycle_id=cycle.id))
