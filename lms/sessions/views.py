"""Session pages: list, month calendar, timetable by day, editing, planning, iCalendar."""

from __future__ import annotations

import re
from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.access import is_organizer, load, roles_required
from lms.attendance.access import can_run_sign_in, can_view_session_attendance
from lms.auth.models import Role
from lms.catalog.models import Course
from lms.catalog.services import lecturers
from lms.clock import local_today
from lms.extensions import db
from lms.files import attachment_headers
from lms.forms import bounded_int
from lms.materials.access import can_upload_to_lesson
from lms.materials.services import materials_of
from lms.reports import worklist
from lms.sessions import access, ical, services, timetable
from lms.sessions.forms import LessonForm, PlanNextForm, SessionForm, StatusForm
from lms.sessions.models import (
    NEXT_STATUSES,
    Lesson,
    SessionStatus,
    TrainingSession,
)
from lms.transaction import atomic

bp = Blueprint("sessions", __name__, url_prefix="/sessions")

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


@bp.route("/")
@login_required
def index():
    status = request.args.get("status", "")
    page = db.paginate(
        services.sessions_query(SessionStatus(status) if status in set(SessionStatus) else None),
        page=request.args.get("page", 1, type=bounded_int),
        per_page=20,
        error_out=False,
    )
    return render_template(
        "sessions/index.html",
        page=page,
        status=status,
        statuses=list(SessionStatus),
        enrolled=services.enrolled_session_ids(current_user.member),
        can_manage=is_organizer(current_user),
    )


def _requested_month() -> tuple[int, int] | None:
    """The ?month=YYYY-MM asked for (this month when absent); None when it is no such month."""
    value = request.args.get("month", "")
    if not value:
        today = local_today()
        return today.year, today.month
    match = MONTH_PATTERN.match(value)
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12 and 2000 <= year <= 2100):
        return None
    return year, month


@bp.route("/calendar")
@login_required
def month():
    today = local_today()
    requested = _requested_month()
    if requested is None:
        if MONTH_PATTERN.match(request.args["month"]):
            abort(404)  # a well-formed month that does not exist
        requested = today.year, today.month  # garbage: the calendar opens on this month
    return render_template(
        "sessions/calendar.html",
        cal=services.month_calendar(*requested),
        today=today,
        enrolled=services.enrolled_session_ids(current_user.member),
    )


@bp.route("/this-month")
@roles_required(Role.ORGANIZER)
def this_month():
    """本月工作: the month's sessions and what each still needs, one link per task."""
    requested = _requested_month()
    if requested is None:
        value = request.args["month"][:20]
        message = _("月份“%(value)s”无法识别，请按“年-月”填写，例如 2026-12。", value=value)
        return render_template("sessions/this_month.html", work=None, message=message), 400
    return render_template("sessions/this_month.html", work=worklist.month_work(*requested))


def _session_data(form: SessionForm) -> services.SessionData:
    return services.SessionData(
        title=form.title.data,
        start_date=form.start_date.data,
        end_date=form.end_date.data,
        venue=form.venue.data or "",
        capacity=form.capacity.data,
        enrolment_deadline=form.enrolment_deadline.data,
        categories=set(form.categories.data),
        completion_percent=form.completion_percent.data or 100,
        late_counts=form.late_counts.data,
        quiz_required=form.quiz_required.data,
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER)
def create():
    form = SessionForm()
    if form.validate_on_submit():
        session = services.create_session(_session_data(form))
        flash(_("期次已创建，现在可以编排课表。"), "success")
        return redirect(url_for("sessions.detail", session_id=session.id))
    return render_template("sessions/session_form.html", form=form, session=None)


@bp.route("/<int:session_id>")
@login_required
def detail(session_id: int):
    session = load(TrainingSession, session_id, access.can_view_session)
    return render_template(
        "sessions/session.html",
        session=session,
        days=services.lessons_by_day(session),
        can_edit=access.can_edit_session(current_user, session),
        next_statuses=NEXT_STATUSES[session.status],
        status_form=StatusForm(),
        enrolled=services.is_enrolled_in_session(current_user.member, session.id),
        can_see_attendance=can_view_session_attendance(current_user, session),
    )


@bp.route("/<int:session_id>/edit", methods=["GET", "POST"])
@login_required
def edit(session_id: int):
    session = load(TrainingSession, session_id, access.can_edit_session)
    form = SessionForm(obj=session)
    if form.validate_on_submit():
        try:
            with atomic():
                services.update_session(session, _session_data(form))
        except timetable.ScheduleError as exc:
            form.start_date.errors.extend(exc.messages)
        else:
            flash(_("已保存。"), "success")
            return redirect(url_for("sessions.detail", session_id=session.id))
    return render_template("sessions/session_form.html", form=form, session=session)


@bp.route("/<int:session_id>/status", methods=["POST"])
@login_required
def set_status(session_id: int):
    session = load(TrainingSession, session_id, access.can_edit_session)
    form = StatusForm()
    target = request.args.get("to", "")
    if not form.validate_on_submit() or target not in set(SessionStatus):
        abort(400)
    try:
        with atomic():
            services.set_session_status(session, SessionStatus(target), form.reason.data or "")
    except timetable.ScheduleError as exc:
        for message in exc.messages:
            flash(message, "danger")
    else:
        flash(_("期次状态已更新。"), "success")
    return redirect(url_for("sessions.detail", session_id=session.id))


@bp.route("/<int:session_id>/plan-next", methods=["GET", "POST"])
@login_required
def plan_next(session_id: int):
    source = load(TrainingSession, session_id, access.can_edit_session)
    form = PlanNextForm()
    if request.method == "GET":
        form.start_date.data = services.same_day_next_month(source.start_date)
        if form.start_date.data is not None:
            form.title.data = services.suggest_next_title(source, form.start_date.data)
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            with atomic():
                session = services.plan_next_session(source, form.title.data, form.start_date.data)
        except timetable.ScheduleError as exc:
            problems = exc.messages
        else:
            flash(_("已按原课表安排新一期，请核对课表。"), "success")
            return redirect(url_for("sessions.detail", session_id=session.id))
    return render_template("sessions/plan_next.html", form=form, source=source, problems=problems)


@bp.route("/<int:session_id>/timetable.ics")
@login_required
def timetable_ics(session_id: int):
    session = load(TrainingSession, session_id, access.can_view_session)
    return Response(
        ical.session_calendar(session),
        mimetype="text/calendar",
        headers=attachment_headers(f"{session.title}.ics", f"session-{session.id}-timetable"),
    )


def _lesson_form(session: TrainingSession, lesson: Lesson | None = None) -> LessonForm:
    form = LessonForm(obj=lesson)
    form.set_choices(services.schedulable_courses(), lecturers())
    if request.method == "GET":
        if lesson is not None:
            form.day.data = lesson.day
            form.start.data = lesson.local_start.time()
            form.end.data = lesson.local_end.time()
        else:
            form.day.data = session.start_date
    return form


def _lesson_data(form: LessonForm) -> timetable.LessonData:
    lecturer_id = form.lecturer_id.data
    if lecturer_id is None:
        course = db.session.get(Course, form.course_id.data)
        assert course is not None  # the form only accepts the id of an existing course
        lecturer_id = course.lecturers[0].id if course.lecturers else None
    return timetable.LessonData(
        course_id=form.course_id.data,
        lecturer_id=lecturer_id,
        day=form.day.data,
        start=form.start.data,
        end=form.end.data,
        room=form.room.data or "",
    )


@bp.route("/<int:session_id>/lessons/new", methods=["GET", "POST"])
@login_required
def add_lesson(session_id: int):
    session = load(TrainingSession, session_id, access.can_edit_session)
    form = _lesson_form(session)
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            with atomic():
                timetable.add_lesson(session, _lesson_data(form))
        except timetable.ScheduleError as exc:
            problems = exc.messages
        else:
            flash(_("已添加课次。"), "success")
            return redirect(url_for("sessions.detail", session_id=session.id))
    return render_template(
        "sessions/lesson_form.html", form=form, session=session, lesson=None, problems=problems
    )


@bp.route("/lessons/<int:lesson_id>")
@login_required
def lesson(lesson_id: int):
    lesson = load(Lesson, lesson_id, access.can_view_lesson)
    return render_template(
        "sessions/lesson.html",
        lesson=lesson,
        materials=materials_of(current_user, lesson=lesson),
        can_upload=can_upload_to_lesson(current_user, lesson),
        can_edit=access.can_edit_lesson(current_user, lesson),
        can_sign_in=can_run_sign_in(current_user, lesson),
    )


@bp.route("/lessons/<int:lesson_id>/edit", methods=["GET", "POST"])
@login_required
def edit_lesson(lesson_id: int):
    lesson = load(Lesson, lesson_id, access.can_edit_lesson)
    form = _lesson_form(lesson.session, lesson)
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            with atomic():
                timetable.update_lesson(lesson, _lesson_data(form))
        except timetable.ScheduleError as exc:
            problems = exc.messages
        else:
            flash(_("已保存。"), "success")
            return redirect(url_for("sessions.detail", session_id=lesson.session_id))
    return render_template(
        "sessions/lesson_form.html",
        form=form,
        session=lesson.session,
        lesson=lesson,
        problems=problems,
    )


@bp.route("/lessons/<int:lesson_id>/delete", methods=["POST"])
@login_required
def delete_lesson(lesson_id: int):
    lesson = load(Lesson, lesson_id, access.can_edit_lesson)
    if not StatusForm().validate_on_submit():
        abort(400)
    session_id = lesson.session_id
    try:
        with atomic():
            timetable.delete_lesson(lesson)
    except timetable.ScheduleError as exc:
        for message in exc.messages:
            flash(message, "danger")
    else:
        flash(_("已删除课次。"), "success")
    return redirect(url_for("sessions.detail", session_id=session_id))


def month_param(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


bp.add_app_template_filter(month_param, "month_param")
