"""The home page, and each trainee's own pages: profile, timetable, leave, hours, attendance
and calendar feed."""

import secrets
from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.access import load, roles_required
from lms.attendance import hours
from lms.attendance.models import Attendance
from lms.auth.models import Role, User
from lms.certificates.models import Certificate
from lms.clock import local_today
from lms.extensions import db
from lms.forms import ConfirmForm, bounded_int
from lms.main.forms import LeaveForm
from lms.main.teaching import taught_lessons
from lms.notifications.services import unread_count
from lms.org.models import Branch, Member
from lms.rotation import enrollment
from lms.rotation.access import owns_enrollment
from lms.sessions.ical import timetable_calendar
from lms.sessions.models import Enrollment, Lesson, TrainingSession
from lms.sessions.services import lessons_taught_by
from lms.transaction import atomic

bp = Blueprint("main", __name__)

HOME_LESSONS = 5  # upcoming and past lessons each on a lecturer's home page
LESSONS_PER_PAGE = 20


@bp.route("/")
@login_required
def index():
    figures = None
    if current_user.has_role(Role.ORGANIZER, Role.ADMIN):
        figures = {
            "members": db.session.scalar(
                sa.select(sa.func.count()).select_from(Member).where(Member.active.is_(True))
            ),
            "branches": db.session.scalar(sa.select(sa.func.count()).select_from(Branch)),
            "users": db.session.scalar(sa.select(sa.func.count()).select_from(User)),
        }
    unread = 0
    if current_user.member_id is not None:
        unread = unread_count(current_user.member_id)
    teaching = _teaching(current_user) if current_user.has_role(Role.LECTURER) else None
    return render_template("main/index.html", figures=figures, unread=unread, teaching=teaching)


def _teaching(user) -> dict:
    """我的课次: the next lessons the user teaches and the latest ones taught, with totals."""
    upcoming, past = (
        db.paginate(
            lessons_taught_by(user, upcoming=when),
            page=1,
            per_page=HOME_LESSONS,
            error_out=False,
        )
        for when in (True, False)
    )
    rows = taught_lessons([*upcoming.items, *past.items])
    return {
        "upcoming": rows[: len(upcoming.items)],
        "past": rows[len(upcoming.items) :],
        "upcoming_total": upcoming.total,
        "past_total": past.total,
    }


@bp.route("/me/lessons")
@roles_required(Role.LECTURER)
def my_lessons():
    """All the lessons the lecturer teaches, upcoming or (?when=past) taught, a page at a time."""
    upcoming = request.args.get("when") != "past"
    page = db.paginate(
        lessons_taught_by(current_user, upcoming=upcoming),
        page=request.args.get("page", 1, type=bounded_int),
        per_page=LESSONS_PER_PAGE,
        max_per_page=LESSONS_PER_PAGE,
        error_out=False,
    )
    return render_template(
        "main/lessons.html", page=page, rows=taught_lessons(page.items), upcoming=upcoming
    )


# --- the trainee's own pages -----------------------------------------------------------------


def _member():
    if current_user.member is None:
        abort(403)
    return current_user.member


@bp.route("/me/profile")
@login_required
def profile():
    """The user menu's page: who I am, my hours this year against the target, my certificates,
    and changing my password. An account without a member record sees the account part only."""
    member = current_user.member
    year = local_today().year
    total = target = None
    certificates: list[Certificate] = []
    if member is not None:
        ledger = hours.hours_ledger(member, year)
        total = sum((line.hours for line in ledger), Decimal(0))
        target = hours.annual_target(member)
        certificates = db.session.scalars(
            sa.select(Certificate)
            .where(Certificate.member_id == member.id)
            .order_by(Certificate.issued_on.desc(), Certificate.id.desc())
        ).all()
    return render_template(
        "me/profile.html",
        member=member,
        year=year,
        total=total,
        target=target,
        certificates=certificates,
    )


@bp.route("/me/timetable")
@login_required
def my_timetable():
    member = _member()
    enrollments = db.session.scalars(
        sa.select(Enrollment)
        .join(TrainingSession, TrainingSession.id == Enrollment.session_id)
        .where(Enrollment.member_id == member.id)
        .order_by(TrainingSession.start_date.desc())
    ).all()
    return render_template(
        "me/timetable.html",
        enrollments=enrollments,
        can_leave={e.id: enrollment.can_request_leave(e) for e in enrollments},
        confirm_refusals={e.id: enrollment.confirm_refusal(e) for e in enrollments},
        confirm=ConfirmForm(),
    )


@bp.route("/me/enrollments/<int:enrollment_id>/confirm", methods=["POST"])
@login_required
def confirm_enrollment(enrollment_id: int):
    item = load(Enrollment, enrollment_id, owns_enrollment)
    try:
        with atomic():
            enrollment.confirm_attendance(item)
    except enrollment.EnrollmentError as exc:
        flash(exc.message, "warning")
    else:
        flash(_("已确认参训。"), "success")
    return redirect(url_for("main.my_timetable"))


@bp.route("/me/enrollments/<int:enrollment_id>/leave", methods=["GET", "POST"])
@login_required
def request_leave(enrollment_id: int):
    item = load(Enrollment, enrollment_id, owns_enrollment)
    form = LeaveForm()
    refusal = enrollment.leave_refusal(item)
    if refusal is None and form.validate_on_submit():
        try:
            with atomic():
                enrollment.request_leave(item, form.reason.data)
        except enrollment.EnrollmentError as exc:
            form.reason.errors.append(exc.message)
        else:
            flash(_("请假申请已提交，等待组织者审批。"), "success")
            return redirect(url_for("main.my_timetable"))
    return render_template("me/leave.html", item=item, form=form, refusal=refusal)


@bp.route("/me/hours")
@login_required
def my_hours():
    member = _member()
    year = request.args.get("year", local_today().year, type=bounded_int)
    if not 2000 <= year <= 2100:
        abort(404)
    ledger = hours.hours_ledger(member, year)
    total = sum((line.hours for line in ledger), Decimal(0))
    return render_template(
        "me/hours.html",
        year=year,
        ledger=ledger,
        total=total,
        target=hours.annual_target(member),
    )


@bp.route("/me/attendance")
@login_required
def my_attendance():
    member = _member()
    rows = db.session.scalars(
        sa.select(Attendance)
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .where(Attendance.member_id == member.id)
        .order_by(Lesson.starts_at.desc())
    ).all()
    return render_template("me/attendance.html", rows=rows)


@bp.route("/me/calendar", methods=["GET", "POST"])
@login_required
def my_calendar():
    _member()
    if request.method == "POST":
        revoke = request.args.get("action") == "revoke"
        replaced = current_user.calendar_token is not None
        current_user.calendar_token = None if revoke else secrets.token_urlsafe(32)
        if revoke:
            flash(_("订阅地址已停用。"), "success")
        elif replaced:
            flash(_("已生成新的订阅地址，旧地址立即失效。"), "success")
        else:
            flash(_("已生成订阅地址，把它添加到日历即可。"), "success")
        return redirect(url_for("main.my_calendar"))
    feed = (
        url_for("main.calendar_feed", token=current_user.calendar_token, _external=True)
        if current_user.calendar_token
        else None
    )
    # webcal:// asks the phone's calendar app to subscribe instead of downloading the file once.
    webcal = "webcal://" + feed.split("://", 1)[1] if feed else None
    return render_template("me/calendar.html", feed=feed, webcal=webcal, confirm=ConfirmForm())


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str):
    """The member's private feed: no sign-in (calendar apps cannot), the secret is the URL."""
    user = db.session.scalar(sa.select(User).where(User.calendar_token == token))
    if user is None or not user.active or user.member_id is None:
        abort(404)
    lessons = db.session.scalars(
        sa.select(Lesson)
        .join(Enrollment, Enrollment.session_id == Lesson.session_id)
        .where(
            Enrollment.member_id == user.member_id,
            Enrollment.in_session,
        )
        .order_by(Lesson.starts_at)
    ).all()
    return Response(
        timetable_calendar(_("我的党校课表"), list(lessons)),
        mimetype="text/calendar",
        headers={"Cache-Control": "private, max-age=300"},
    )
