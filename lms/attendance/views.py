"""Attendance pages: the rotating QR sign-in screen, scanning it, the session grid, Excel
sign-in sheets, attendance import and export."""

from __future__ import annotations

import io
import secrets
import time
from datetime import UTC, datetime
from decimal import Decimal

import segno
import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from lms.access import authorize, load, roles_required
from lms.attendance import access, hours, services, sheets
from lms.attendance.forms import AttendanceImportForm, CreditForm, TargetsForm
from lms.attendance.models import AttendanceStatus, HoursCredit
from lms.auth.models import Role
from lms.clock import local_today
from lms.excel import xlsx_response
from lms.extensions import db
from lms.files import inline_headers
from lms.forms import ConfirmForm, bounded_int, picked_staff_no
from lms.org.access import can_view_member
from lms.org.models import Category, Member
from lms.pdf import render_pdf
from lms.sessions.models import Lesson, TrainingSession
from lms.transaction import atomic

bp = Blueprint("attendance", __name__, url_prefix="/attendance")

DEVICE_COOKIE = "lms_device"
PENDING_SECONDS = 600  # time to sign in to the site after scanning


@bp.route("/lessons/<int:lesson_id>/qr")
@login_required
def qr_screen(lesson_id: int):
    lesson = load(Lesson, lesson_id, access.can_run_sign_in)
    url = url_for("attendance.scan", token=services.sign_in_token(lesson), _external=True)
    svg = segno.make(url, error="m").svg_inline(scale=8, dark="#000", light="#fff", omitsize=True)
    present, expected = services.signed_in_count(lesson)
    refresh = services.WINDOW_SECONDS - int(time.time()) % services.WINDOW_SECONDS + 1
    return render_template(
        "attendance/qr.html",
        lesson=lesson,
        qr=Markup(svg),  # noqa: S704  (segno's own SVG of our own URL)
        url=url,
        present=present,
        expected=expected,
        refresh=refresh,
    )


@bp.route("/scan/<token>")
def scan(token: str):
    """Opened from the QR code. The code is checked now; signing in may take a minute."""
    try:
        lesson = services.lesson_from_token(token)
    except services.SignInRefused as refused:
        return render_template("attendance/scan.html", lesson=None, message=refused.message), 400
    session["pending_sign_in"] = {"lesson": lesson.id, "at": time.time()}
    if not current_user.is_authenticated:
        flash(_("请先登录，登录后完成签到。"), "info")
        return redirect(url_for("auth.login", next=url_for("attendance.confirm")))
    return redirect(url_for("attendance.confirm"))


def _pending_lesson() -> Lesson | None:
    pending = session.get("pending_sign_in")
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    return db.session.get(Lesson, pending.get("lesson"))


@bp.route("/scan", methods=["GET", "POST"])
@login_required
def confirm():
    lesson = _pending_lesson()
    if lesson is None:
        message = _("没有待确认的签到，或扫码已超过 10 分钟。请重新扫描屏幕上的二维码。")
        return render_template("attendance/scan.html", lesson=None, message=message), 400
    if current_user.member is None:
        message = _("您的账号没有关联学员信息，不能签到。")
        return render_template("attendance/scan.html", lesson=lesson, message=message), 403
    form = ConfirmForm()
    device = request.cookies.get(DEVICE_COOKIE) or secrets.token_hex(16)
    attendance = None
    message = None
    if form.validate_on_submit():
        scanned_at = datetime.fromtimestamp(session["pending_sign_in"]["at"], UTC)
        try:
            with atomic():
                attendance = services.sign_in_by_qr(current_user.member, lesson, device, scanned_at)
        except services.SignInRefused as refused:
            message = refused.message
        else:
            session.pop("pending_sign_in", None)
    response = make_response(
        render_template(
            "attendance/scan.html",
            lesson=lesson,
            form=form,
            attendance=attendance,
            message=message,
        )
    )
    if DEVICE_COOKIE not in request.cookies:
        response.set_cookie(
            DEVICE_COOKIE,
            device,
            max_age=3 * 365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response


@bp.route("/sessions/<int:session_id>", methods=["GET", "POST"])
@login_required
def grid(session_id: int):
    training = load(TrainingSession, session_id, access.can_view_session_attendance)
    grid = services.session_grid(training)
    can_edit = access.can_edit_attendance(current_user, training)
    if request.method == "POST":
        authorize(can_edit)
        changes = {}
        valid = {s.value for s in AttendanceStatus}
        for member in grid.members:
            for lesson in grid.lessons:
                value = request.form.get(f"a-{member.id}-{lesson.id}")
                if value is None:
                    continue
                if value and value not in valid:
                    abort(400)
                changes[(member.id, lesson.id)] = AttendanceStatus(value) if value else None
        count = services.set_attendance(grid, changes, current_user)
        flash(_("已保存 %(n)d 处考勤。", n=count), "success")
        return redirect(url_for("attendance.grid", session_id=training.id))
    return render_template(
        "attendance/grid.html",
        grid=grid,
        statuses=list(AttendanceStatus),
        can_edit=can_edit,
        confirm=ConfirmForm(),
    )


@bp.route("/sessions/<int:session_id>/sheet.xlsx")
@login_required
def sign_in_sheet(session_id: int):
    training = load(TrainingSession, session_id, access.can_view_session_attendance)
    grid = services.session_grid(training)
    return xlsx_response(
        f"{training.title}-签到表.xlsx",
        sheets.sign_in_sheet(grid),
        f"session-{training.id}-sign-in-sheet",
    )


@bp.route("/sessions/<int:session_id>/sheet.pdf")
@login_required
def sign_in_sheet_pdf(session_id: int):
    training = load(TrainingSession, session_id, access.can_view_session_attendance)
    grid = services.session_grid(training)
    pdf = render_pdf(render_template("pdf/sign_in_sheet.html", grid=grid))
    return Response(
        pdf,
        mimetype="application/pdf",
        headers=inline_headers(
            f"{training.title}-签到表.pdf", f"session-{training.id}-sign-in-sheet"
        ),
    )


@bp.route("/sessions/<int:session_id>/export.xlsx")
@login_required
def export(session_id: int):
    training = load(TrainingSession, session_id, access.can_view_session_attendance)
    grid = services.session_grid(training)
    return xlsx_response(
        f"{training.title}-考勤.xlsx",
        sheets.attendance_workbook(grid),
        f"session-{training.id}-attendance",
    )


@bp.route("/sessions/<int:session_id>/import", methods=["GET", "POST"])
@login_required
def import_attendance(session_id: int):
    training = load(TrainingSession, session_id, access.can_edit_attendance)
    grid = services.session_grid(training)
    errors: list[str] = []
    count = None
    form = AttendanceImportForm()
    if form.validate_on_submit():
        parsed = sheets.read_attendance(grid, io.BytesIO(form.file.data.read()))
        errors = parsed.errors
        if not errors:
            count = services.set_attendance(
                grid, parsed.changes, current_user, services.AttendanceMethod.IMPORT
            )
    elif form.is_submitted():
        errors = [str(message) for message in form.file.errors]
    return render_template(
        "attendance/import.html", grid=grid, errors=errors, count=count, form=form
    )


@bp.route("/hours", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER)
def credit():
    """Credit external hours (with reason; the approver is the organizer who records it)."""
    form = CreditForm()
    form.staff_no.data = form.staff_no.data or picked_staff_no()
    if form.validate_on_submit():
        member = form.staff_no.member
        hours.credit_hours(
            member, form.hours.data, form.reason.data.strip(), form.credited_on.data, current_user
        )
        flash(
            _("已为 %(name)s 认定 %(hours)s 学时。", name=member.name, hours=form.hours.data),
            "success",
        )
        return redirect(url_for("attendance.member_hours", member_id=member.id))
    credits = db.session.scalars(
        sa.select(HoursCredit).order_by(HoursCredit.created_at.desc()).limit(50)
    ).all()
    return render_template("attendance/credit.html", form=form, credits=credits)


@bp.route("/members/<int:member_id>/hours")
@login_required
def member_hours(member_id: int):
    member = load(Member, member_id, can_view_member)
    year = request.args.get("year", local_today().year, type=bounded_int)
    if not 2000 <= year <= 2100:
        abort(404)
    ledger = hours.hours_ledger(member, year)
    return render_template(
        "attendance/member_hours.html",
        member=member,
        year=year,
        ledger=ledger,
        total=sum((line.hours for line in ledger), Decimal(0)),
        target=hours.annual_target(member),
    )


@bp.route("/targets", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.ORGANIZER)
def targets():
    current = hours.hours_targets()
    form = TargetsForm(data={"secretary": current["secretary"]})
    if form.validate_on_submit():
        values = {}
        for category in Category:
            raw = request.form.get(f"cat-{category.value}", "")
            if not raw.isdigit() or int(raw) > 500:
                form.secretary.errors.append(_("每类目标须为 0 到 500 的整数。"))
                break
            values[category.value] = int(raw)
        else:
            hours.save_hours_targets({"categories": values, "secretary": form.secretary.data})
            flash(_("年度学时目标已保存。"), "success")
            return redirect(url_for("attendance.targets"))
    return render_template(
        "attendance/targets.html", form=form, current=current, categories=list(Category)
    )
