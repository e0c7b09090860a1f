"""Who may run a lesson's sign-in, and see or edit a session's attendance."""

from __future__ import annotations

from lms.access import is_organizer
from lms.auth.models import User
from lms.sessions.models import Lesson, TrainingSession


def can_run_sign_in(user: User, lesson: Lesson) -> bool:
    return is_organizer(user) or lesson.lecturer_id == user.id


def can_view_session_attendance(user: User, session: TrainingSession) -> bool:
    if is_organizer(user):
        return True
    return any(lesson.lecturer_id == user.id for lesson in session.lessons)


def can_edit_attendance(user: User, session: TrainingSession) -> bool:
    return is_organizer(user)
