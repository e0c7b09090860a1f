"""Members: list, detail, create, edit, deactivate; roster import and export; branches."""

from datetime import date
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.access import authorize, is_organizer, load, roles_required
from lms.auth.models import Role
from lms.auth.services import safe_next_url
from lms.clock import local_today
from lms.excel import xlsx_response
from lms.extensions import db
from lms.forms import ConfirmForm, bounded_int
from lms.org import access, roster, services
from lms.org.forms import MemberFilterForm, MemberForm, RosterImportForm
from lms.org.models import Member
from lms.records.services import member_overview

bp = Blueprint("org", __name__, url_prefix="/members")


def _filter_from_request(form: MemberFilterForm) -> services.MemberFilter:
    form.validate()  # bad values simply become "no filter"
    active = {"active": True, "inactive": False, "all": None}.get(form.active.data, True)
    return services.MemberFilter(
        q=(form.q.data or "").strip()[:64],
        department_id=form.department_id.data if not form.department_id.errors else None,
        branch_id=form.branch_id.data if not form.branch_id.errors else None,
        shift_id=form.shift_id.data if not form.shift_id.errors else None,
        category=form.category.data,  # None for every category and for one that is none
        active=active,
    )


def _filter_form() -> MemberFilterForm:
    form = MemberFilterForm(request.args)
    form.set_choices(services.departments(), services.branches(current_user), services.shifts())
    return form


@bp.route("/")
@login_required
def index():
    authorize(access.can_list_members(current_user))
    form = _filter_form()
    criteria = _filter_from_request(form)
    page = db.paginate(
        services.members_query(current_user, criteria),
        page=request.args.get("page", 1, type=bounded_int),
        per_page=50,
        max_per_page=50,
        error_out=False,
    )
    return render_template(
        "org/members.html",
        form=form,
        page=page,
        can_manage=is_organizer(current_user),
    )


def _picked(back: str, staff_no: str) -> str:
    """The page the lookup came from, with the picked 工号 handed back as ?staff_no=."""
    parts = urlsplit(back)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "staff_no"]
    return urlunsplit(("", "", parts.path, urlencode([*query, ("staff_no", staff_no)]), ""))


@bp.route("/lookup")
@login_required
def lookup():
    """Find a member by part of the name or the start of the 工号. A page of its own without
    JavaScript (each result leads back to the form with the 工号 filled in); with
    ?fragment=1 only the list, which the picker under a 工号 field shows as one types."""
    authorize(access.can_list_members(current_user))
    q = request.args.get("q", "").strip()[:64]
    back = safe_next_url(request.args.get("back"))
    members, more = services.lookup_members(current_user, q)
    results = [
        (m, _picked(back, m.staff_no) if back else url_for("org.detail", member_id=m.id))
        for m in members
    ]
    template = "org/_lookup_results.html" if request.args.get("fragment") else "org/lookup.html"
    return render_template(template, q=q, back=back, results=results, more=more)


@bp.route("/<int:member_id>")
@login_required
def detail(member_id: int):
    member = load(Member, member_id, access.can_view_member)
    return render_template(
        "org/member.html",
        member=member,
        overview=member_overview(member, local_today().year),
        can_edit=access.can_edit_member(current_user, member),
        can_list=access.can_list_members(current_user),
        confirm=ConfirmForm(),
    )


def _member_form(obj: Member | None = None) -> MemberForm:
    form = MemberForm(obj=obj)
    form.set_choices(services.departments(), services.branches(), services.shifts())
    return form


def _member_data(form: MemberForm) -> services.MemberData:
    return services.MemberData(
        staff_no=form.staff_no.data,
        name=form.name.data,
        gender=form.gender.data,
        department_id=form.department_id.data,
        branch_id=form.branch_id.data,
        shift_id=form.shift_id.data,
        category=form.category.data,
        joined_party_on=form.joined_party_on.data,
        committee_member=form.committee_member.data,
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER)
def create():
    form = _member_form()
    if form.validate_on_submit():
        member = services.create_member(_member_data(form))
        flash(_("已添加 %(name)s。", name=member.name), "success")
        return redirect(url_for("org.detail", member_id=member.id))
    return render_template("org/member_form.html", form=form, member=None)


@bp.route("/<int:member_id>/edit", methods=["GET", "POST"])
@login_required
def edit(member_id: int):
    member = load(Member, member_id, access.can_edit_member)
    form = _member_form(member)
    if form.validate_on_submit():
        services.update_member(member, _member_data(form))
        flash(_("已保存。"), "success")
        return redirect(url_for("org.detail", member_id=member.id))
    return render_template("org/member_form.html", form=form, member=member)


@bp.route("/<int:member_id>/active", methods=["POST"])
@login_required
def set_active(member_id: int):
    member = load(Member, member_id, access.can_edit_member)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    activate = request.args.get("to") == "on"
    services.set_member_active(member, activate)
    flash(_("已恢复在册。") if activate else _("已停用，培训记录保留。"), "success")
    return redirect(url_for("org.detail", member_id=member.id))


@bp.route("/import", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER)
def import_roster():
    form = RosterImportForm()
    result = None
    if form.validate_on_submit():
        upload = form.file.data
        # With any bad row the import changes nothing, and answers with every row's reason.
        result = roster.import_roster(
            upload.filename, upload.stream, create_accounts=form.create_accounts.data
        )
        if result.ok:
            flash(
                _(
                    "导入完成：新增 %(created)s 人，更新 %(updated)s 人，未变 %(unchanged)s 人。",
                    created=result.created,
                    updated=result.updated,
                    unchanged=result.unchanged,
                ),
                "success",
            )
            if result.credentials:
                return xlsx_response(
                    _("初始密码_%(day)s.xlsx", day=date.today().isoformat()),
                    roster.credentials_workbook(result.credentials),
                    "initial-passwords",
                )
            return redirect(url_for("org.index"))
    return render_template("org/import.html", form=form, result=result)


@bp.route("/import/template.xlsx")
@roles_required(Role.ORGANIZER)
def import_template():
    return xlsx_response(_("花名册导入模板.xlsx"), roster.template_workbook(), "roster-template")


@bp.route("/export.xlsx")
@login_required
def export():
    authorize(access.can_list_members(current_user))
    criteria = _filter_from_request(_filter_form())
    members = db.session.scalars(services.members_query(current_user, criteria))
    return xlsx_response(
        _("花名册_%(day)s.xlsx", day=date.today().isoformat()),
        roster.roster_workbook(members),
        "roster",
    )


@bp.route("/branches")
@login_required
def branches():
    authorize(access.can_list_members(current_user))
    return render_template(
        "org/branches.html",
        branches=services.branches(current_user),
        counts=services.branch_counts(),
        year=local_today().year,
    )
