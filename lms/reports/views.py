"""Dashboards: rotation coverage for organizers (everything) and branch secretaries (their
branch), with drill-down to members and Excel exports."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.access import authorize, load
from lms.attendance.models import ATTENDED, Attendance
from lms.charts import columns, stacked_bars
from lms.excel import build_workbook, xlsx_response
from lms.extensions import db
from lms.forms import bounded_int
from lms.org.models import Category, Member
from lms.reports import access, services
from lms.rotation.coverage import Coverage, cycle_hours, population
from lms.rotation.models import RotationCycle
from lms.sessions.models import Lesson

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.route("/")
@login_required
def index():
    authorize(access.can_view_reports(current_user))
    cycles = db.session.scalars(sa.select(RotationCycle).order_by(RotationCycle.start_date.desc()))
    return render_template("reports/index.html", cycles=list(cycles))


@bp.route("/cycles/<int:cycle_id>")
@login_required
def dashboard(cycle_id: int):
    cycle = load(RotationCycle, cycle_id, access.can_view_cycle_reports)
    board = services.dashboard(cycle, access.scope_of(current_user))
    series = [s.label for s in services.STATES]
    charts = {
        group: stacked_bars(
            [(row.label, [row.counts[s] for s in services.STATES]) for row in rows],
            series,
            _("按%(group)s的覆盖情况", group=group.label),
        )
        for group, rows in board.groups.items()
    }
    return render_template(
        "reports/dashboard.html",
        board=board,
        charts=charts,
        hours_chart=columns(board.hours_bins, _("学时分布")),
        states=services.STATES,
    )


def _group_key(group: str | None):
    raw = request.args.get("key")
    if group is None or raw is None:
        return None
    if raw == "":
        return None
    if group == "category":
        if raw not in set(Category):
            abort(404)
        return Category(raw)
    try:
        return bounded_int(raw)  # digits only, and no larger than an id can be
    except ValueError:
        abort(404)


def _drill(cycle: RotationCycle, limit: int | None = None):
    scope = access.scope_of(current_user)
    group = request.args.get("group")
    if group is not None and group not in services.GROUPS:
        abort(404)
    key = _group_key(group)
    if group == "branch" and scope is not None and key not in scope:
        abort(403)  # a secretary asking for another branch
    state = request.args.get("state")
    if state is not None and state not in (*services.STATES, "untrained"):
        abort(404)
    return services.members_in(cycle, scope, state, group, key, limit), state, group


@bp.route("/cycles/<int:cycle_id>/members")
@login_required
def members(cycle_id: int):
    cycle = load(RotationCycle, cycle_id, access.can_view_cycle_reports)
    (rows, count), state, _group = _drill(cycle, limit=2000)
    return render_template(
        "reports/members.html",
        cycle=cycle,
        rows=rows,
        count=count,
        state=state,
        state_title=Coverage(state).label if state in services.STATES else None,
    )


@bp.route("/cycles/<int:cycle_id>/members.xlsx")
@login_required
def members_xlsx(cycle_id: int):
    cycle = load(RotationCycle, cycle_id, access.can_view_cycle_reports)
    (rows, _count), _state, _group = _drill(cycle)
    header = [_("工号"), _("姓名"), _("部门"), _("党支部"), _("班组"), _("类别"), _("状态")]
    data = (
        [
            m.staff_no,
            m.name,
            m.department.name,
            m.branch.name,
            m.shift.name if m.shift else "",
            m.category.label,
            s.label,
        ]
        for m, s in rows
    )
    return xlsx_response(
        f"{cycle.name}-进度.xlsx",
        build_workbook([(cycle.name, header, data)]),
        f"cycle-{cycle.id}-progress",
    )


@bp.route("/cycles/<int:cycle_id>/hours.xlsx")
@login_required
def hours_xlsx(cycle_id: int):
    cycle = load(RotationCycle, cycle_id, access.can_view_cycle_reports)
    scope = access.scope_of(current_user)
    stmt = population(cycle).order_by(Member.staff_no)
    ids = population(cycle).with_only_columns(Member.id)
    if scope is not None:
        stmt = stmt.where(Member.branch_id.in_(scope))
        ids = ids.where(Member.branch_id.in_(scope))
    hours = cycle_hours(cycle, ids)
    header = [_("工号"), _("姓名"), _("党支部"), _("学时")]
    data = (
        [m.staff_no, m.name, m.branch.name, hours.get(m.id, Decimal(0))]
        for m in db.session.scalars(stmt)
    )
    return xlsx_response(
        f"{cycle.name}-学时.xlsx",
        build_workbook([(cycle.name, header, data)]),
        f"cycle-{cycle.id}-hours",
    )


@bp.route("/cycles/<int:cycle_id>/attendance.xlsx")
@login_required
def attendance_xlsx(cycle_id: int):
    cycle = load(RotationCycle, cycle_id, access.can_view_cycle_reports)
    scope = access.scope_of(current_user)
    stmt = (
        sa.select(Attendance)
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(Member, Member.id == Attendance.member_id)
        .where(Attendance.member_id.in_(population(cycle).with_only_columns(Member.id)))
        .order_by(Lesson.starts_at, Member.staff_no)
        .limit(200_000)
    )
    if scope is not None:
        stmt = stmt.where(Member.branch_id.in_(scope))
    header = [_("时间"), _("期次"), _("课程"), _("工号"), _("姓名"), _("考勤"), _("计学时")]
    data = (
        [
            a.lesson.starts_at,
            a.lesson.session.title,
            a.lesson.course.title,
            a.member.staff_no,
            a.member.name,
            a.status.label,
            _("是") if a.status in ATTENDED else _("否"),
        ]
        for a in db.session.scalars(stmt)
    )
    return xlsx_response(
        f"{cycle.name}-考勤.xlsx",
        build_workbook([(cycle.name, header, data)]),
        f"cycle-{cycle.id}-attendance",
    )
