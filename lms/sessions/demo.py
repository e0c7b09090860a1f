"""The demo sessions: default lecturers of courses, and sessions with their timetables and
enrolments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path

import sqlalchemy as sa

from lms.auth.demo import user_by_name
from lms.catalog.demo import course_by_code
from lms.content_files import ContentError, read_yaml
from lms.extensions import db
from lms.org.models import Member
from lms.org.roster import CATEGORY_WORDS
from lms.sessions.models import Enrollment, SessionStatus, TrainingSession
from lms.sessions.services import SessionData
from lms.sessions.services import create_session as create_training_session
from lms.sessions.timetable import LessonData, ScheduleError, add_lesson


@dataclass
class DemoSession:
    """A demo session made by this load, with its entry in the file."""

    where: str  # e.g. sessions[2], for errors
    entry: dict
    session: TrainingSession
    enrollments: list[Enrollment]


def _demo_session(path: Path, where: str, entry: dict) -> DemoSession:
    try:
        start, end = entry["start"], entry.get("end", entry["start"])
        status = SessionStatus(entry.get("status", "planned"))
        categories = {CATEGORY_WORDS[word] for word in entry.get("categories") or []}
        data = SessionData(
            title=str(entry["title"]),
            start_date=start,
            end_date=end,
            venue=str(entry.get("venue", "")),
            capacity=int(entry["capacity"]),
            enrolment_deadline=entry.get("enrolment_deadline"),
            categories=categories,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ContentError(f"{path}: {where}: title, start and capacity required ({exc})") from exc
    session = create_training_session(data)
    for n, item in enumerate(entry.get("lessons") or []):
        here = f"{where}.lessons[{n}]"
        try:
            lesson = LessonData(
                course_id=course_by_code(path, here, item["course"]).id,
                lecturer_id=user_by_name(path, here, item["lecturer"]).id,
                day=session.start_date + timedelta(days=int(item["day"]) - 1),
                start=time.fromisoformat(item["start"]),
                end=time.fromisoformat(item["end"]),
                room=str(item.get("room", "")),
            )
            add_lesson(session, lesson)
        except (KeyError, TypeError, ValueError) as exc:
            raise ContentError(
                f"{path}: {here}: day, start, end and course required ({exc})"
            ) from exc
        except ScheduleError as exc:
            raise ContentError(f"{path}: {here}: {'; '.join(exc.messages)}") from exc
    session.status = status
    enrollments = []
    for staff_no in entry.get("enrolled") or []:
        member_id = db.session.scalar(sa.select(Member.id).where(Member.staff_no == str(staff_no)))
        if member_id is None:
            raise ContentError(f"{path}: {where}.enrolled: unknown 工号 {staff_no}")
        enrollment = Enrollment(session=session, member_id=member_id)
        db.session.add(enrollment)
        enrollments.append(enrollment)
    return DemoSession(where=where, entry=entry, session=session, enrollments=enrollments)


def load_teaching(path: Path) -> tuple[str, list[DemoSession]]:
    """Default lecturers of courses and the demo sessions with their timetables; the sessions
    made now are returned, for their attendance and evaluations to be loaded next."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ContentError(f"{path}: course_lecturers and sessions required")
    for username, codes in (data.get("course_lecturers") or {}).items():
        lecturer = user_by_name(path, "course_lecturers", username)
        for code in codes:
            course = course_by_code(path, f"course_lecturers.{username}", code)
            if not course.lecturers:
                course.lecturers = [lecturer]
    created: list[DemoSession] = []
    for index, entry in enumerate(data.get("sessions") or []):
        if not isinstance(entry, dict):
            raise ContentError(f"{path}: sessions[{index}]: a mapping is required")
        title = str(entry.get("title", ""))
        if db.session.scalar(sa.select(TrainingSession.id).where(TrainingSession.title == title)):
            continue
        created.append(_demo_session(path, f"sessions[{index}]", entry))
    db.session.flush()
    return f"sessions: {len(created)} new", created
