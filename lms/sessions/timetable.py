"""A session's timetable: adding, changing and deleting lessons, refusing any that clash (the
session's trainees, the lecturer or the room already taken at that time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa
from flask_babel import format_date, format_time
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from lms import signals
from lms.audit.services import record_audit
from lms.clock import from_local
from lms.extensions import db
from lms.sessions.models import Lesson, SessionStatus, TrainingSession


class ScheduleError(Exception):
    """A change the timetable cannot take; `messages` say why, in the user's language."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass
class LessonData:
    course_id: int
    lecturer_id: int | None
    day: date
    start: time
    end: time
    room: str

    @property
    def starts_at(self) -> datetime:
        return from_local(self.day, self.start)

    @property
    def ends_at(self) -> datetime:
        return from_local(self.day, self.end)


def _describe(lesson: Lesson) -> str:
    return _(
        "%(day)s %(start)s–%(end)s《%(course)s》（%(session)s）",
        day=format_date(lesson.day, "short"),
        start=format_time(lesson.local_start, "HH:mm"),
        end=format_time(lesson.local_end, "HH:mm"),
        course=lesson.course.title,
        session=lesson.session.title,
    )


def lesson_problems(
    session: TrainingSession, data: LessonData, exclude_id: int | None = None
) -> list[str]:
    """Everything that stops this lesson going into the timetable, as messages for the editor."""
    problems = []
    if not session.start_date <= data.day <= session.end_date:
        problems.append(
            _(
                "上课日期须在本期的日期范围内（%(start)s 至 %(end)s）。",
                start=format_date(session.start_date, "short"),
                end=format_date(session.end_date, "short"),
            )
        )
    if data.end <= data.start:
        problems.append(_("下课时间须晚于上课时间。"))
        return problems
    overlapping = (
        sa.select(Lesson)
        .join(Lesson.session)
        .where(
            Lesson.starts_at < data.ends_at,
            Lesson.ends_at > data.starts_at,
            TrainingSession.status != SessionStatus.CANCELLED,
        )
        .options(selectinload(Lesson.course), selectinload(Lesson.session))
    )
    if exclude_id is not None:
        overlapping = overlapping.where(Lesson.id != exclude_id)
    if session.id is not None:
        # The session's trainees sit in every lesson: they cannot be in two rooms at once.
        for clash in db.session.scalars(overlapping.where(Lesson.session_id == session.id)):
            problems.append(_("本期学员在此时段已有课：%(lesson)s。", lesson=_describe(clash)))
    if data.lecturer_id is not None:
        for clash in db.session.scalars(overlapping.where(Lesson.lecturer_id == data.lecturer_id)):
            problems.append(_("该讲师在此时段已有课：%(lesson)s。", lesson=_describe(clash)))
    room = data.room.strip()
    if room:
        for clash in db.session.scalars(overlapping.where(Lesson.room == room)):
            problems.append(
                _(
                    "教室「%(room)s」在此时段已被占用：%(lesson)s。",
                    room=room,
                    lesson=_describe(clash),
                )
            )
    return problems


def _fill(lesson: Lesson, data: LessonData) -> None:
    lesson.course_id = data.course_id
    lesson.lecturer_id = data.lecturer_id
    lesson.starts_at = data.starts_at
    lesson.ends_at = data.ends_at
    lesson.room = data.room.strip()


def add_lesson(session: TrainingSession, data: LessonData) -> Lesson:
    if problems := lesson_problems(session, data):
        raise ScheduleError(problems)
    lesson = Lesson(session=session)
    _fill(lesson, data)
    db.session.add(lesson)
    db.session.flush()
    record_audit("lesson.created", "lesson", lesson.id, {"session": session.id})
    return lesson


def update_lesson(lesson: Lesson, data: LessonData) -> None:
    if problems := lesson_problems(lesson.session, data, exclude_id=lesson.id):
        raise ScheduleError(problems)
    _fill(lesson, data)
    db.session.flush()
    record_audit("lesson.updated", "lesson", lesson.id, {"session": lesson.session_id})


def delete_lesson(lesson: Lesson) -> None:
    if refusals := [reason for _receiver, reason in signals.lesson_deleting.send(lesson) if reason]:
        raise ScheduleError(refusals)
    record_audit(
        "lesson.deleted",
        "lesson",
        lesson.id,
        {"session": lesson.session_id, "course": lesson.course_id},
    )
    db.session.delete(lesson)
    db.session.flush()
