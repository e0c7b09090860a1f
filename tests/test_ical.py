"""A session's timetable as iCalendar: parsed back with `icalendar`, zone and UIDs checked."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import icalendar
import pytest

from lms.auth.models import Role
from lms.sessions.models import SessionStatus
from tests.conftest import login
from tests.factories import make_course, make_lesson, make_session, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def timetable():
    lecturer = make_user(roles={Role.LECTURER})
    session = make_session(title="2026年第11期", start=date(2026, 11, 26), venue="厂部三楼")
    first = make_lesson(
        session=session,
        course=make_course(title="学习党章，尊崇党章"),
        lecturer=lecturer,
        start=time(8, 30),
        end=time(11, 30),
        room="第一教室",
    )
    second = make_lesson(session=session, day=date(2026, 11, 27), start=time(14), end=time(16))
    return session, first, second, lecturer


def _download(client, session) -> icalendar.Calendar:
    response = client.get(f"/sessions/{session.id}/timetable.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "filename*=UTF-8''2026%E5%B9%B4" in response.headers["Content-Disposition"]
    return icalendar.Calendar.from_ical(response.data)


def test_timetable_parses_back_with_every_lesson(client, timetable):
    session, _first, second, lecturer = timetable
    login(client, make_user())
    cal = _download(client, session)
    assert cal["VERSION"] == "2.0"
    events = sorted(cal.walk("VEVENT"), key=lambda e: e.decoded("DTSTART"))
    assert [str(e["SUMMARY"]) for e in events] == ["学习党章，尊崇党章", second.course.title]
    start = events[0].decoded("DTSTART")
    assert start == datetime(2026, 11, 26, 8, 30, tzinfo=SHANGHAI)
    assert events[0]["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert events[0].decoded("DTEND") == datetime(2026, 11, 26, 11, 30, tzinfo=SHANGHAI)
    assert str(events[0]["LOCATION"]) == "厂部三楼，第一教室"
    assert lecturer.name in str(events[0]["DESCRIPTION"])
    assert str(events[0]["STATUS"]) == "CONFIRMED"
    zones = [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
    assert zones == ["Asia/Shanghai"]


def test_uids_are_stable_and_updates_raise_the_sequence(client, timetable):
    session, first, _second, _lecturer = timetable
    login(client, make_user(roles={Role.ORGANIZER}))
    before = {str(e["UID"]): e for e in _download(client, session).walk("VEVENT")}
    first.updated_at = datetime(2030, 1, 1, tzinfo=ZoneInfo("UTC"))
    first.room = "报告厅"
    after = {str(e["UID"]): e for e in _download(client, session).walk("VEVENT")}
    assert before.keys() == after.keys()
    uid = f"lesson-{first.id}@party-school.lms"
    assert uid in after
    assert int(after[uid]["SEQUENCE"]) > int(before[uid]["SEQUENCE"])
    assert "报告厅" in str(after[uid]["LOCATION"])


def test_cancelled_session_events_are_marked_cancelled(client, timetable):
    session, *_ = timetable
    session.status = SessionStatus.CANCELLED
    login(client, make_user())
    events = _download(client, session).walk("VEVENT")
    assert {str(e["STATUS"]) for e in events} == {"CANCELLED"}


def test_empty_timetable_is_still_a_valid_calendar(client):
    session = make_session()
    login(client, make_user())
    cal = _download(client, session)
    assert cal.walk("VEVENT") == []
