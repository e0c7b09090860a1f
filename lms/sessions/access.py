"""Who may read and change sessions and their timetable."""

from __future__ import annotations

from lms.access import is_organizer
from lms.auth.models import User
from lms.sessions.models import Lesson, TrainingSession


def can_view_session(user: User, session: TrainingSession) -> bool:
    return True  # every signed-in person may read the timetable


def can_view_lesson(user: User, lesson: Lesson) -> bool:
    return True  # a lesson is a line of the timetable


def can_edit_session(user: User, session: TrainingSession) -> bool:
    return is_organizer(user)


def can_edit_lesson(user: User, lesson: Lesson) -> bool:
    return is_organizer(user)
