"""The training record (学习档案): a member's page and PDF, and a branch's Excel summary."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import login_required

from lms.access import load
from lms.clock import local_today
from lms.excel import build_workbook, xlsx_response
from lms.files import attachment_headers
from lms.forms import bounded_int
from lms.org.models import Branch, Member
from lms.pdf import render_pdf
from lms.records import access, services

bp = Blueprint("records", __name__, url_prefix="/records")


def _year() -> int:
    year = request.args.get("year", local_today().year, type=bounded_int)
    if not 2000 <= year <= 2100:
        abort(404)
    return year


@bp.route("/members/<int:member_id>")
@login_required
def member_record(member_id: int):
    member = load(Member, member_id, access.can_view_record)
    record = services.training_record(member, _year())
    return render_template("records/record.html", record=record)


@bp.route("/members/<int:member_id>/record.pdf")
@login_required
def member_record_pdf(member_id: int):
    member = load(Member, member_id, access.can_view_record)
    record = services.training_record(member, _year())
    pdf = render_pdf(
        render_template(
            "pdf/record.html",
            record=record,
            today=local_today(),
        )
    )
    return Response(
        pdf,
        mimetype="application/pdf",
        headers=attachment_headers(
            _("%(name)s_%(year)d年学习档案.pdf", name=member.name, year=record.year),
            f"record-{member.staff_no}",
        ),
    )


@bp.route("/branches/<int:branch_id>/records.xlsx")
@login_required
def branch_records(branch_id: int):
    branch = load(Branch, branch_id, access.can_export_branch)
    year = _year()
    header = [
        _("工号"), _("姓名"), _("类别"), _("参训期次"), _("出勤课次"), _("集中学时"),
        _("认定学时"), _("线上学时"), _("合计学时"), _("年度目标"), _("是否达标"), _("测试次数"),
        _("最高得分率（百分制）"), _("结业证书"),
    ]  # fmt: skip
    rows = (
        [
            row.member.staff_no,
            row.member.name,
            row.member.category.label,
            row.sessions,
            row.lessons,
            row.concentrated_hours,
            row.credited_hours,
            row.online_hours,
            row.total_hours,
            row.target,
            _("是") if row.total_hours >= row.target else _("否"),
            row.quizzes,
            row.best_percent if row.best_percent is not None else "",
            row.certificates,
        ]
        for row in services.branch_summary(branch, year)
    )
    title = _("%(branch)s %(year)d年学习档案", branch=branch.name, year=year)
    return xlsx_response(
        f"{title}.xlsx",
        build_workbook([(title, header, rows)]),
        f"branch-{branch.id}-records-{year}",
    )
