"""Who may see and change courses in the catalog."""

from __future__ import annotations

from flask import abort

from lms.access import is_organizer
from lms.auth.models import User
from lms.catalog.models import Course, CourseStatus


def can_view_course(user: User, course: Course) -> bool:
    return course.status is CourseStatus.PUBLISHED or is_organizer(user) or user in course.lecturers


def can_edit_course(user: User, course: Course) -> bool:
    return is_organizer(user)


def can_find_course(user: User, course: Course) -> bool:
    """`can_view_course`, but a course a person may not see does not exist for them: 404, not
    403."""
    if not can_view_course(user, course):
        abort(404)
    return True
