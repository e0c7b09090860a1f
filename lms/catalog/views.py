"""Catalog pages: browse and search courses, course page, course editing, themes."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.access import is_organizer, load, roles_required
from lms.auth.models import Role
from lms.cache import FragmentCache
from lms.catalog import access, services
from lms.catalog.forms import CatalogFilterForm, CourseForm, ThemeForm
from lms.catalog.models import Course, CourseStatus
from lms.extensions import db
from lms.forms import ConfirmForm, bounded_int
from lms.markdown import render_markdown
from lms.materials.access import can_upload_to_course
from lms.materials.services import lesson_materials_of_course, materials_of
from lms.sessions.services import upcoming_lessons_of_course

bp = Blueprint("catalog", __name__, url_prefix="/courses")


# Rendered listings, keyed by the catalog's stamp: the same page for many trainees is built once.
listings = FragmentCache()


@bp.route("/")
@login_required
def index():
    can_manage = is_organizer(current_user)
    key = (
        services.catalog_stamp(),
        str(get_locale()),
        can_manage,
        tuple(request.args.items(multi=True)),
    )
    listing = listings.get_or_render(key, lambda: _render_listing(can_manage))
    return render_template("catalog/index.html", listing=listing, can_manage=can_manage)


def _render_listing(can_manage: bool) -> str:
    form = CatalogFilterForm(request.args)
    form.set_choices(services.themes())
    form.validate()
    status = form.status.data
    criteria = services.CatalogFilter(
        q=(form.q.data or "").strip()[:64],
        theme_id=form.theme_id.data if not form.theme_id.errors else None,
        format=form.format.data,  # None for "every format" and for a value that is none
        category=form.category.data,
        status=None
        if status == "all"
        else CourseStatus(status)
        if status in set(CourseStatus)
        else CourseStatus.PUBLISHED,
    )
    page = db.paginate(
        services.catalog_query(current_user, criteria),
        page=request.args.get("page", 1, type=bounded_int),
        per_page=24,
        error_out=False,
    )
    return render_template("catalog/_listing.html", form=form, page=page, can_manage=can_manage)


@bp.route("/<int:course_id>")
@login_required
def detail(course_id: int):
    course = load(Course, course_id, access.can_find_course)
    return render_template(
        "catalog/course.html",
        course=course,
        description=render_markdown(course.description),
        can_edit=access.can_edit_course(current_user, course),
        lessons=upcoming_lessons_of_course(course),
        materials=materials_of(current_user, course=course),
        lesson_materials=lesson_materials_of_course(current_user, course),
        can_upload=can_upload_to_course(current_user, course),
        confirm=ConfirmForm(),
    )


def _course_form(course: Course | None = None) -> CourseForm:
    form = CourseForm(obj=course)
    form.set_choices(services.themes(), services.lecturers())
    if course is not None and request.method == "GET":
        form.lecturer_ids.data = [u.id for u in course.lecturers]
    return form


def _course_data(form: CourseForm) -> services.CourseData:
    assert form.hours.data is not None  # InputRequired: called on a validated form
    return services.CourseData(
        code=form.code.data,
        title=form.title.data,
        theme_id=form.theme_id.data,
        format=form.format.data,
        hours=form.hours.data,
        description=form.description.data or "",
        categories=set(form.categories.data),
        lecturer_ids=list(form.lecturer_ids.data or []),
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER)
def create():
    form = _course_form()
    if form.validate_on_submit():
        course = services.create_course(_course_data(form))
        flash(_("课程已保存为草稿。"), "success")
        return redirect(url_for("catalog.detail", course_id=course.id))
    return render_template("catalog/course_form.html", form=form, course=None)


@bp.route("/<int:course_id>/edit", methods=["GET", "POST"])
@login_required
def edit(course_id: int):
    course = load(Course, course_id, access.can_edit_course)
    form = _course_form(course)
    if form.validate_on_submit():
        services.update_course(course, _course_data(form))
        flash(_("已保存。"), "success")
        return redirect(url_for("catalog.detail", course_id=course.id))
    return render_template("catalog/course_form.html", form=form, course=course)


@bp.route("/<int:course_id>/status", methods=["POST"])
@login_required
def set_status(course_id: int):
    course = load(Course, course_id, access.can_edit_course)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    target = request.args.get("to", "")
    if target not in set(CourseStatus):
        abort(400)
    services.set_course_status(course, CourseStatus(target))
    flash(_("课程状态已更新。"), "success")
    return redirect(url_for("catalog.detail", course_id=course.id))


@bp.route("/themes", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER)
def themes():
    form = ThemeForm()
    if form.validate_on_submit():
        services.add_theme(form.name.data)
        flash(_("已添加主题。"), "success")
        return redirect(url_for("catalog.themes"))
    return render_template("catalog/themes.html", form=form, themes=services.themes())
