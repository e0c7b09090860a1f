"""Who may see, upload and manage which materials."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _

from lms.access import is_organizer
from lms.auth.models import User
from lms.catalog.access import can_view_course
from lms.catalog.models import Course
from lms.materials.models import Material, MaterialVersion, Visibility
from lms.sessions.models import Lesson
from lms.sessions.services import is_enrolled_in_course, is_enrolled_in_session


def can_upload_to_course(user: User, course: Course) -> bool:
    return is_organizer(user) or user in course.lecturers


def can_upload_to_lesson(user: User, lesson: Lesson) -> bool:
    return is_organizer(user) or lesson.lecturer_id == user.id


def can_manage_material(user: User, material: Material) -> bool:
    if material.deleted_at is not None:
        return False
    if material.lesson is not None:
        return can_upload_to_lesson(user, material.lesson)
    assert material.course is not None  # CHECK one_parent: a course or a lesson
    return can_upload_to_course(user, material.course)


def is_enrolled(user: User, material: Material) -> bool:
    if material.lesson is not None:
        return is_enrolled_in_session(user.member, material.lesson.session_id)
    assert material.course is not None  # CHECK one_parent: a course or a lesson
    return is_enrolled_in_course(user.member, material.course)


def can_view_material(user: User, material: Material) -> bool:
    if material.deleted_at is not None:
        return False
    if can_manage_material(user, material):
        return True
    if not can_view_course(user, material.taught_course):
        return False
    return material.visibility is Visibility.ALL or is_enrolled(user, material)


def why_material_refused(user: User, material: Material) -> str | None:
    """The reason to show a member refused an enrolled-only material they could otherwise see."""
    if (
        material.visibility is Visibility.ENROLLED
        and user.member is not None
        and can_view_course(user, material.taught_course)
    ):
        return _("此资料仅向参训学员开放，您未参加相关培训。")
    return None


def live(check):
    """A deleted material is gone for everyone (404); otherwise `check` decides (403)."""

    def can(user, material: Material) -> bool:
        if material.deleted_at is not None:
            abort(404)
        return check(user, material)

    return can


def can_view_version(user: User, version: MaterialVersion) -> bool:
    return live(can_view_material)(user, version.material)


def why_version_refused(user: User, version: MaterialVersion) -> str | None:
    return why_material_refused(user, version.material)
