"""Admin pages: users, their roles and the audit log."""

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.access import is_admin, load, roles_required
from lms.admin import services
from lms.admin.audit import AuditFilter, audit_query, readable_rows
from lms.admin.forms import AuditFilterForm, NewUserForm, SearchForm, UserForm
from lms.auth.models import Role, User
from lms.extensions import db
from lms.forms import ConfirmForm, bounded_int
from lms.org.roster import ONE_TIME_ALPHABET

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _linked_member_id(form: UserForm, user: User | None) -> tuple[bool, int | None]:
    """Resolve the 工号 in the form to a member that no other account is linked to."""
    member = form.member_staff_no.member
    if member is None:  # none given (an unknown 工号 does not pass validation)
        return True, None
    if member.user is not None and member.user is not user:
        form.member_staff_no.errors.append(_("该学员已关联其他账号。"))
        return False, None
    return True, member.id


def _one_time_password() -> str:
    return "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(12))


@bp.route("/users")
@roles_required(Role.ADMIN)
def users():
    form = SearchForm(request.args)
    query = (form.q.data or "").strip()[:64] if form.validate() else ""
    page = db.paginate(
        services.search_users(query),
        page=request.args.get("page", 1, type=bounded_int),
        per_page=50,
        error_out=False,
    )
    return render_template("admin/users.html", form=form, page=page, query=query)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def create_user():
    form = NewUserForm()
    if form.validate_on_submit():
        ok, member_id = _linked_member_id(form, None)
        if ok:
            password = _one_time_password()
            user = services.create_user(
                username=form.username.data,
                password=password,
                roles=set(form.roles.data),
                display_name=form.display_name.data or "",
                member_id=member_id,
            )
            return render_template("admin/password_issued.html", user=user, password=password)
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_user(user_id: int):
    user = load(User, user_id, is_admin)
    form = UserForm(obj=user)
    if request.method == "GET":
        form.member_staff_no.data = user.member.staff_no if user.member else ""
    if form.validate_on_submit():
        ok, member_id = _linked_member_id(form, user)
        roles = set(form.roles.data)
        if user.id == current_user.id and (Role.ADMIN not in roles or not form.active.data):
            flash(_("不能取消自己的管理员角色或停用自己的账号。"), "danger")
            ok = False
        if ok:
            services.update_user(
                user,
                roles=roles,
                active=form.active.data,
                display_name=form.display_name.data or "",
                member_id=member_id,
            )
            flash(_("已保存。"), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user, confirm=ConfirmForm())


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@roles_required(Role.ADMIN)
def reset_password(user_id: int):
    user = load(User, user_id, is_admin)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    password = _one_time_password()
    services.reset_password(user, password)
    return render_template("admin/password_issued.html", user=user, password=password)


@bp.route("/audit")
@roles_required(Role.ADMIN)
def audit():
    form = AuditFilterForm(request.args)
    if not form.validate():  # e.g. a date that is no date: say so, list nothing
        return render_template("admin/audit.html", form=form, page=None, rows=[])
    criteria = AuditFilter(
        action=form.action.data or "",
        who=form.who.data or "",
        start=form.start.data,
        end=form.end.data,
    )
    page = db.paginate(
        audit_query(criteria),
        page=request.args.get("page", 1, type=bounded_int),
        per_page=100,
        error_out=False,
    )
    return render_template(
        "admin/audit.html",
        form=form,
        page=page,
        rows=readable_rows(page.items),
        filtered=criteria != AuditFilter(),
    )
