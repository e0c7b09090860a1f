"""A session's timetable as an iCalendar (RFC 5545) file, in the plant's time zone."""

from __future__ import annotations

from datetime import MAXYEAR, MINYEAR, date

import icalendar
from flask import current_app, url_for

from lms.clock import local_zone
from lms.database import utcnow
from lms.sessions.models import Lesson, SessionStatus, TrainingSession

PRODUCT_ID = "-//Party School LMS//Timetable//ZH"


def lesson_uid(lesson: Lesson) -> str:
    """Stable for the life of the lesson, so a calendar replaces the event when it changes."""
    return f"lesson-{lesson.id}@{current_app.config['ICAL_UID_DOMAIN']}"


def lesson_event(lesson: Lesson, zone, stamp) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", lesson_uid(lesson))
    event.add("dtstamp", stamp)
    event.add("last-modified", lesson.updated_at)
    # Seconds since the epoch only grow, so every saved change raises the sequence.
    event.add("sequence", int(lesson.updated_at.timestamp()) - 1_700_000_000)
    event.add("dtstart", lesson.starts_at.astimezone(zone))
    event.add("dtend", lesson.ends_at.astimezone(zone))
    event.add("summary", lesson.course.title)
    location = "，".join(part for part in (lesson.session.venue, lesson.room) if part)
    if location:
        event.add("location", location)
    lines = [lesson.session.title]
    if lesson.lecturer is not None:
        lines.append(lesson.lecturer.name)
    event.add("description", "\n".join(lines))
    event.add("url", url_for("sessions.lesson", lesson_id=lesson.id, _external=True))
    cancelled = lesson.session.status is SessionStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def timetable_calendar(title: str, lessons: list[Lesson]) -> bytes:
    zone = local_zone()
    cal = icalendar.Calendar()
    cal.add("prodid", PRODUCT_ID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", title)
    cal.add("x-wr-timezone", zone.key)
    stamp = utcnow()
    for lesson in lessons:
        cal.add_component(lesson_event(lesson, zone, stamp))
    if lessons:
        first = min(lesson.day for lesson in lessons)
        last = max(lesson.day for lesson in lessons)
        # A year either side, a year inside the calendar's ends (icalendar steps past the last
        # date by the zone's offset; a session may sit in year 1 or 9999).
        cal.add_missing_timezones(
            first_date=date(min(max(first.year - 1, MINYEAR + 1), MAXYEAR - 1), 1, 1),
            last_date=date(max(min(last.year + 1, MAXYEAR - 1), MINYEAR + 1), 12, 31),
        )
    return cal.to_ical()


def session_calendar(session: TrainingSession) -> bytes:
    return timetable_calendar(session.title, list(session.lessons))
