"""Material pages: upload to a course or lesson, new versions, delete, download."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.access import load
from lms.catalog.models import Course
from lms.files import content_disposition
from lms.forms import ConfirmForm
from lms.materials import access, services, storage
from lms.materials.forms import MaterialForm, VersionForm
from lms.materials.models import Material, MaterialVersion
from lms.sessions.models import Lesson
from lms.web import large_uploads, render_error

bp = Blueprint("materials", __name__, url_prefix="/materials")


def _back_to(material: Material) -> str:
    if material.lesson_id is not None:
        return url_for("sessions.lesson", lesson_id=material.lesson_id)
    return url_for("catalog.detail", course_id=material.course_id)


def _receive(form: VersionForm):
    """Store the submitted file, or put the reason on the form. Returns (stored, error_page)."""
    upload = form.file.data
    try:
        return storage.store(upload.stream, upload.filename), None
    except storage.UploadRefused as refused:
        if refused.status == 413:
            return None, render_error(413, refused.message)
        form.file.errors.append(refused.message)
        return None, None


def _upload(form: MaterialForm, *, course: Course | None = None, lesson: Lesson | None = None):
    if form.validate_on_submit():
        stored, error_page = _receive(form)
        if error_page is not None:
            return error_page
        if stored is not None:
            material = services.add_material(
                current_user,
                stored,
                form.title.data or "",
                form.visibility.data,
                course=course,
                lesson=lesson,
            )
            flash(_("已上传「%(title)s」。", title=material.title), "success")
            return redirect(_back_to(material))
    return render_template(
        "materials/upload.html",
        form=form,
        course=course,
        lesson=lesson,
        limits=_limits(),
    )


def _limits() -> dict[str, int | str]:
    return {
        "video": storage.upload_limit(storage.KINDS["mp4"]) // (1024 * 1024),
        "other": storage.upload_limit(storage.KINDS["pdf"]) // (1024 * 1024),
        "types": storage.ALLOWED_LABEL,
    }


@bp.route("/upload/course/<int:course_id>", methods=["GET", "POST"])
@large_uploads(storage.largest_upload)
@login_required
def upload_to_course(course_id: int):
    course = load(Course, course_id, access.can_upload_to_course)
    return _upload(MaterialForm(), course=course)


@bp.route("/upload/lesson/<int:lesson_id>", methods=["GET", "POST"])
@large_uploads(storage.largest_upload)
@login_required
def upload_to_lesson(lesson_id: int):
    lesson = load(Lesson, lesson_id, access.can_upload_to_lesson)
    return _upload(MaterialForm(), lesson=lesson)


@bp.route("/<int:material_id>")
@login_required
def detail(material_id: int):
    material = load(
        Material, material_id, access.live(access.can_view_material), access.why_material_refused
    )
    return render_template(
        "materials/material.html",
        material=material,
        can_manage=access.can_manage_material(current_user, material),
        confirm=ConfirmForm(),
    )


@bp.route("/<int:material_id>/versions/new", methods=["GET", "POST"])
@large_uploads(storage.largest_upload)
@login_required
def new_version(material_id: int):
    material = load(Material, material_id, access.live(access.can_manage_material))
    form = VersionForm()
    if form.validate_on_submit():
        stored, error_page = _receive(form)
        if error_page is not None:
            return error_page
        if stored is not None:
            version = services.add_version(current_user, material, stored)
            flash(_("已上传第 %(n)d 版。", n=version.number), "success")
            return redirect(url_for("materials.detail", material_id=material.id))
    return render_template(
        "materials/new_version.html", form=form, material=material, limits=_limits()
    )


@bp.route("/<int:material_id>/delete", methods=["POST"])
@login_required
def delete(material_id: int):
    material = load(Material, material_id, access.live(access.can_manage_material))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    back = _back_to(material)
    services.delete_material(material)
    flash(_("已删除「%(title)s」。", title=material.title), "success")
    return redirect(back)


def _send(version: MaterialVersion):
    path = storage.material_path(version.sha256)
    if not path.is_file():
        abort(404)
    kind = storage.KINDS[version.kind]
    response = send_file(
        path,
        mimetype=version.content_type,
        as_attachment=not kind.inline,
        download_name=version.original_name,
        conditional=True,  # Range requests, so videos seek and PDFs load page by page
        etag=version.sha256,
        last_modified=version.uploaded_at,
        max_age=0,
    )
    response.headers["Content-Disposition"] = content_disposition(
        version.original_name, f"material-{version.material_id}", inline=kind.inline
    )
    response.cache_control.public = False
    response.cache_control.private = True
    return response


@bp.route("/<int:material_id>/file")
@login_required
def download(material_id: int):
    material = load(
        Material, material_id, access.live(access.can_view_material), access.why_material_refused
    )
    return _send(material.current)


@bp.route("/versions/<int:version_id>/file")
@login_required
def download_version(version_id: int):
    version = load(
        MaterialVersion,
        version_id,
        access.can_view_version,
        access.why_version_refused,
    )
    return _send(version)
