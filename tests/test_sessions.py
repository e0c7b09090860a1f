"""Training sessions and their timetable: creating, clash checks, statuses, planning the next one,
the day-by-day page and the month calendar."""

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditLog
from lms.auth.models import Role
from lms.clock import from_local, local_today
from lms.extensions import db
from lms.org.models import Category
from lms.sessions import services
from lms.sessions.models import Lesson, SessionStatus, TrainingSession
from tests.conftest import login
from tests.factories import (
    make_course,
    make_lesson,
    make_material,
    make_session,
    make_user,
)


def _lesson_form(course, day="2026-11-26", start="08:30", end="10:30", **extra):
    return {
        "course_id": course.id,
        "lecturer_id": "",
        "day": day,
        "start": start,
        "end": end,
        "room": "",
        **extra,
    }


def test_new_session_lasts_two_days_by_default(client, organizer):
    response = client.post(
        "/sessions/new",
        data={
            "title": "2026年第11期",
            "start_date": "2026-11-26",
            "venue": "厂部三楼",
            "capacity": "60",
            "categories": ["member", "probationary"],
        },
    )
    assert response.status_code == 302
    session = db.session.scalar(sa.select(TrainingSession))
    assert (session.start_date, session.end_date) == (date(2026, 11, 26), date(2026, 11, 27))
    assert session.status is SessionStatus.PLANNED
    assert set(session.categories) == {Category.MEMBER, Category.PROBATIONARY}
    assert session.days == [date(2026, 11, 26), date(2026, 11, 27)]
    assert db.session.scalar(sa.select(AuditLog.action)) == "session.created"


def test_other_lengths_are_allowed(client, organizer):
    client.post(
        "/sessions/new",
        data={
            "title": "三天专题班",
            "start_date": "2026-12-01",
            "end_date": "2026-12-03",
            "capacity": "30",
        },
    )
    session = db.session.scalar(sa.select(TrainingSession))
    assert len(session.days) == 3


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"end_date": "2026-11-25"}, "The end date cannot be before the start date"),
        ({"enrolment_deadline": "2026-11-30"}, "The enrolment deadline cannot be after the start"),
        ({"end_date": "2026-12-31"}, "A session lasts at most 31 days"),
        ({"capacity": "0"}, "Capacity must be between 1 and 5000"),
        ({"start_date": "2026-13-40"}, "Not a valid date value"),
        ({"title": ""}, "This field is required"),
    ],
)
def test_bad_session_input_is_refused_clearly(client, organizer, fields, message):
    data = {"title": "第X期", "start_date": "2026-11-26", "capacity": "60", **fields}
    response = client.post("/sessions/new", data=data, headers={"Accept-Language": "en"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message.lower() in html.lower()
    assert db.session.scalar(sa.select(sa.func.count(TrainingSession.id))) == 0


def test_duplicate_title_is_refused(client, organizer):
    make_session(title="2026年第11期")
    response = client.post(
        "/sessions/new",
        data={"title": "2026年第11期", "start_date": "2026-12-01", "capacity": "60"},
    )
    assert "该期次名称已存在" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(TrainingSession.id))) == 1


def test_add_lesson_uses_the_course_default_lecturer(client, organizer):
    lecturer = make_user(roles={Role.LECTURER})
    course = make_course(lecturers=[lecturer])
    session = make_session()
    response = client.post(
        f"/sessions/{session.id}/lessons/new", data=_lesson_form(course, room="第一教室")
    )
    assert response.status_code == 302
    lesson = db.session.scalar(sa.select(Lesson))
    assert lesson.lecturer_id == lecturer.id
    assert lesson.room == "第一教室"
    # Stored in UTC, shown in Beijing time.
    assert lesson.starts_at.hour == 0 and lesson.starts_at.minute == 30
    assert lesson.local_start.time() == time(8, 30)


def test_lesson_outside_the_session_dates_is_refused(client, organizer):
    session = make_session(start=date(2026, 11, 26))
    response = client.post(
        f"/sessions/{session.id}/lessons/new", data=_lesson_form(make_course(), day="2026-11-28")
    )
    assert "上课日期须在本期的日期范围内" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Lesson.id))) == 0


def test_lesson_must_end_after_it_starts(client, organizer):
    session = make_session()
    response = client.post(
        f"/sessions/{session.id}/lessons/new",
        data=_lesson_form(make_course(), start="10:00", end="09:00"),
    )
    assert "下课时间须晚于上课时间" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Lesson.id))) == 0


def test_a_lecturer_cannot_teach_two_lessons_at_once(client, organizer):
    lecturer = make_user(roles={Role.LECTURER})
    other_session = make_session()  # the clash may be in another session
    make_lesson(session=other_session, lecturer=lecturer, start=time(9), end=time(11))
    session = make_session()
    response = client.post(
        f"/sessions/{session.id}/lessons/new",
        data=_lesson_form(make_course(), start="10:30", end="12:00", lecturer_id=lecturer.id),
    )
    html = response.get_data(as_text=True)
    assert "该讲师在此时段已有课" in html and other_session.title in html
    assert db.session.scalar(sa.select(sa.func.count(Lesson.id))) == 1


def test_a_room_cannot_hold_two_lessons_at_once(client, organizer):
    session = make_session()
    make_lesson(session=session, room="报告厅", start=time(9), end=time(11))
    response = client.post(
        f"/sessions/{session.id}/lessons/new",
        data=_lesson_form(make_course(), start="08:00", end="09:30", room="报告厅"),
    )
    assert "教室「报告厅」在此时段已被占用" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Lesson.id))) == 1


def test_back_to_back_lessons_and_other_rooms_are_fine(client, organizer):
    lecturer = make_user(roles={Role.LECTURER})
    session = make_session()
    make_lesson(session=session, lecturer=lecturer, room="报告厅", start=time(9), end=time(11))
    response = client.post(
        f"/sessions/{session.id}/lessons/new",
        data=_lesson_form(make_course(), start="11:00", end="12:00", lecturer_id=lecturer.id),
    )
    assert response.status_code == 302
    response = client.post(
        f"/sessions/{make_session().id}/lessons/new",
        data=_lesson_form(make_course(), start="09:00", end="11:00", room="第二教室"),
    )
    assert response.status_code == 302


def test_a_sessions_trainees_cannot_be_in_two_lessons_at_once(client, organizer):
    session = make_session()
    first = make_lesson(session=session, room="报告厅", start=time(9), end=time(11))
    response = client.post(
        f"/sessions/{session.id}/lessons/new",
        data=_lesson_form(make_course(), start="10:00", end="12:00", room="第二教室"),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "本期学员在此时段已有课" in html and first.course.title in html
    assert db.session.scalar(sa.select(sa.func.count(Lesson.id))) == 1
    # Moving another lesson onto it is refused too.
    second = make_lesson(session=session, start=time(14), end=time(16))
    response = client.post(
        f"/sessions/lessons/{second.id}/edit",
        data=_lesson_form(second.course, start="08:00", end="09:30"),
    )
    assert "本期学员在此时段已有课" in response.get_data(as_text=True)
    assert second.local_start.time() == time(14)


def test_plan_next_refuses_a_timetable_whose_lessons_overlap(client, organizer):
    source = make_session(start=date(2026, 11, 26))
    make_lesson(session=source, start=time(9), end=time(11), room="A")
    make_lesson(session=source, start=time(10), end=time(12), room="B")  # older data
    response = client.post(
        f"/sessions/{source.id}/plan-next", data={"title": "新一期", "start_date": "2026-12-17"}
    )
    assert "本期学员在此时段已有课" in response.get_data(as_text=True)
    assert not db.session.scalar(
        sa.select(TrainingSession).where(TrainingSession.title == "新一期")
    )


def test_lessons_of_cancelled_sessions_do_not_clash(client, organizer):
    lecturer = make_user(roles={Role.LECTURER})
    make_lesson(
        session=make_session(status=SessionStatus.CANCELLED),
        lecturer=lecturer,
        start=time(9),
        end=time(11),
    )
    session = make_session()
    response = client.post(
        f"/sessions/{session.id}/lessons/new",
        data=_lesson_form(make_course(), start="09:00", end="11:00", lecturer_id=lecturer.id),
    )
    assert response.status_code == 302


def test_editing_a_lesson_does_not_clash_with_itself(client, organizer):
    lecturer = make_user(roles={Role.LECTURER})
    lesson = make_lesson(lecturer=lecturer, room="报告厅", start=time(9), end=time(11))
    response = client.post(
        f"/sessions/lessons/{lesson.id}/edit",
        data=_lesson_form(
            lesson.course, start="09:30", end="11:30", lecturer_id=lecturer.id, room="报告厅"
        ),
    )
    assert response.status_code == 302
    assert lesson.local_end.time() == time(11, 30)


def test_delete_lesson(client, organizer):
    lesson = make_lesson()
    response = client.post(f"/sessions/lessons/{lesson.id}/delete")
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Lesson.id))) == 0


def test_a_lesson_with_materials_is_not_deleted(client, organizer):
    lesson = make_lesson()
    make_material(uploader=organizer, lesson=lesson)
    client.post(f"/sessions/lessons/{lesson.id}/delete")
    assert db.session.get(Lesson, lesson.id) is not None
    html = client.get(f"/sessions/{lesson.session_id}").get_data(as_text=True)
    assert "该课次有课件" in html


def test_moving_the_dates_away_from_existing_lessons_is_refused(client, organizer):
    session = make_session(start=date(2026, 11, 26))
    make_lesson(session=session, day=date(2026, 11, 27))
    response = client.post(
        f"/sessions/{session.id}/edit",
        data={
            "title": session.title,
            "start_date": "2026-11-26",
            "end_date": "2026-11-26",
            "capacity": "60",
        },
    )
    assert "节课不在新的日期范围内" in response.get_data(as_text=True)
    assert session.end_date == date(2026, 11, 27)


@pytest.mark.parametrize(
    ("path", "final"),
    [
        (["open", "in_progress", "completed"], SessionStatus.COMPLETED),
        (["open", "planned"], SessionStatus.PLANNED),
    ],
)
def test_status_goes_forward(client, organizer, path, final):
    session = make_session(status=SessionStatus.PLANNED)
    for target in path:
        assert client.post(f"/sessions/{session.id}/status?to={target}").status_code == 302
    assert session.status is final


def test_completed_sessions_stay_completed(client, organizer):
    session = make_session(status=SessionStatus.COMPLETED)
    client.post(f"/sessions/{session.id}/status?to=open")
    assert session.status is SessionStatus.COMPLETED
    client.post(f"/sessions/{session.id}/status?to=nonsense")
    assert session.status is SessionStatus.COMPLETED


def test_cancelling_needs_a_reason(client, organizer):
    session = make_session(status=SessionStatus.OPEN)
    client.post(f"/sessions/{session.id}/status?to=cancelled", data={"reason": "  "})
    assert session.status is SessionStatus.OPEN
    assert "取消期次须填写原因" in client.get(f"/sessions/{session.id}").get_data(as_text=True)
    client.post(f"/sessions/{session.id}/status?to=cancelled", data={"reason": "迎峰度夏保供电"})
    assert session.status is SessionStatus.CANCELLED
    assert session.cancel_reason == "迎峰度夏保供电"
    assert "迎峰度夏保供电" in client.get(f"/sessions/{session.id}").get_data(as_text=True)
    entry = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "session.status")).one()
    assert entry.details["reason"] == "迎峰度夏保供电"


def test_plan_next_month_copies_the_timetable(client, organizer):
    lecturer = make_user(roles={Role.LECTURER})
    source = make_session(title="2026年第11期", start=date(2026, 11, 26))
    source.set_categories({Category.MEMBER})
    source.enrolment_deadline = date(2026, 11, 20)
    make_lesson(session=source, lecturer=lecturer, start=time(8, 30), end=time(11, 30), room="A")
    make_lesson(session=source, day=date(2026, 11, 27), start=time(14), end=time(16))

    form = client.get(f"/sessions/{source.id}/plan-next").get_data(as_text=True)
    assert "2026年第12期" in form and "2026-12-26" in form

    response = client.post(
        f"/sessions/{source.id}/plan-next",
        data={"title": "2026年第12期", "start_date": "2026-12-17"},
    )
    assert response.status_code == 302
    new = db.session.scalar(
        sa.select(TrainingSession).where(TrainingSession.title == "2026年第12期")
    )
    assert (new.start_date, new.end_date) == (date(2026, 12, 17), date(2026, 12, 18))
    assert new.enrolment_deadline == date(2026, 12, 11)
    assert new.categories == [Category.MEMBER]
    assert new.status is SessionStatus.PLANNED
    copied = [(x.day, x.local_start.time(), x.lecturer_id, x.room) for x in new.lessons]
    assert copied == [
        (date(2026, 12, 17), time(8, 30), lecturer.id, "A"),
        (date(2026, 12, 18), time(14), None, ""),
    ]
    assert len(source.lessons) == 2  # the source is untouched


def test_plan_next_refuses_clashes_and_creates_nothing(client, organizer):
    lecturer = make_user(roles={Role.LECTURER})
    source = make_session(start=date(2026, 11, 26))
    make_lesson(session=source, lecturer=lecturer, start=time(9), end=time(11))
    busy = make_session(start=date(2026, 12, 17), days=1)
    make_lesson(session=busy, lecturer=lecturer, start=time(10), end=time(12))
    response = client.post(
        f"/sessions/{source.id}/plan-next",
        data={"title": "新一期", "start_date": "2026-12-17"},
    )
    assert "该讲师在此时段已有课" in response.get_data(as_text=True)
    assert not db.session.scalar(
        sa.select(TrainingSession).where(TrainingSession.title == "新一期")
    )


@pytest.mark.parametrize(
    ("title", "start", "expected"),
    [
        ("2026年第11期", date(2026, 12, 17), "2026年第12期"),
        ("2026年第12期", date(2027, 1, 21), "2027年第1期"),
        ("专题班", date(2026, 12, 17), ""),
    ],
)
def test_next_title_suggestion(title, start, expected):
    assert services.suggest_next_title(TrainingSession(title=title), start) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [(date(2026, 1, 31), date(2026, 2, 28)), (date(2026, 12, 17), date(2027, 1, 17))],
)
def test_same_day_next_month(day, expected):
    assert services.same_day_next_month(day) == expected


def test_session_page_shows_the_timetable_day_by_day(client):
    session = make_session(start=date(2026, 11, 26))
    make_lesson(session=session, course=make_course(title="学习党章"), start=time(8, 30))
    make_lesson(session=session, course=make_course(title="廉政警示教育"), day=date(2026, 11, 27))
    login(client, make_user())
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    html = page[page.index(">课表</h2>") :]
    assert html.index("2026年11月26日") < html.index("学习党章")
    assert html.index("学习党章") < html.index("2026年11月27日") < html.index("廉政警示教育")
    assert "08:30" in html


def test_month_calendar_shows_the_sessions_of_the_month(client):
    make_session(title="十一月期", start=date(2026, 11, 26))
    make_session(title="十二月期", start=date(2026, 12, 17))
    login(client, make_user())
    html = client.get("/sessions/calendar?month=2026-11").get_data(as_text=True)
    assert "十一月期" in html and "十二月期" not in html
    assert "2026年11月" in html
    html = client.get("/sessions/calendar?month=2026-12").get_data(as_text=True)
    assert "十二月期" in html


@pytest.mark.parametrize("month", ["2026-13", "1999-01", "2026-00"])
def test_month_calendar_refuses_impossible_months(client, month):
    login(client, make_user())
    assert client.get(f"/sessions/calendar?month={month}").status_code == 404


def test_calendar_with_garbage_month_shows_this_month(client):
    login(client, make_user())
    response = client.get("/sessions/calendar?month=<script>")
    assert response.status_code == 200
    assert "<script>" not in response.get_data(as_text=True)


def test_stored_times_are_utc():
    moment = from_local(date(2026, 11, 26), time(8, 30))
    assert moment.utcoffset().total_seconds() == 0 and moment.hour == 0


def test_completion_rule_is_set_per_session(client, organizer):
    client.post(
        "/sessions/new",
        data={
            "title": "专题班",
            "start_date": "2026-12-01",
            "capacity": "30",
            "completion_percent": "80",
            "late_counts": "",
            "quiz_required": "y",
        },
    )
    session = db.session.scalar(sa.select(TrainingSession))
    assert (session.completion_percent, session.late_counts, session.quiz_required) == (
        80,
        False,
        True,
    )
    response = client.post(
        f"/sessions/{session.id}/edit",
        data={
            "title": "专题班",
            "start_date": "2026-12-01",
            "capacity": "30",
            "completion_percent": "0",
        },
    )
    assert response.status_code == 200 and session.completion_percent == 80


def test_statuses_follow_the_dates(app, client, runner):
    today = local_today()
    started = make_session(start=today - timedelta(days=6), status=SessionStatus.OPEN)
    planned = make_session(start=today, status=SessionStatus.PLANNED)
    future = make_session(start=today + timedelta(days=3), status=SessionStatus.OPEN)
    done = make_session(start=today - timedelta(days=40), status=SessionStatus.COMPLETED)
    cancelled = make_session(start=today - timedelta(days=9), status=SessionStatus.CANCELLED)
    result = runner.invoke(args=["sessions", "advance"])
    assert result.exit_code == 0 and "2 sessions now in progress" in result.output
    assert (started.status, planned.status) == (SessionStatus.IN_PROGRESS,) * 2
    assert future.status is SessionStatus.OPEN
    assert (done.status, cancelled.status) == (SessionStatus.COMPLETED, SessionStatus.CANCELLED)
    audit = db.session.scalar(
        sa.select(AuditLog).where(
            AuditLog.action == "session.status", AuditLog.target_id == str(started.id)
        )
    )
    assert audit.details == {"status": ["open", "in_progress"], "by": "dates"}
    # Completing stays the organizer's act: past its end, the session is due for completion.
    login(client, make_user(roles={Role.ORGANIZER}))
    html = client.get(f"/sessions/{started.id}").get_data(as_text=True)
    assert "进行中" in html and "待结业" in html
    assert "待结业" not in client.get(f"/sessions/{planned.id}").get_data(as_text=True)


def test_the_first_request_of_the_day_advances_statuses(app, client):
    session = make_session(start=local_today() - timedelta(days=6), status=SessionStatus.OPEN)
    login(client, make_user(roles={Role.TRAINEE}, member=None))
    app.config["SESSIONS_ADVANCE_DAILY"] = True
    app.extensions.pop("sessions_advanced_on", None)
    try:
        assert client.get("/sessions/").status_code == 200
    finally:
        app.config["SESSIONS_ADVANCE_DAILY"] = False
    assert session.status is SessionStatus.IN_PROGRESS
    assert app.extensions["sessions_advanced_on"] == local_today()


@pytest.mark.parametrize(
    "fields",
    [
        {"start_date": "9999-12-31"},
        {"start_date": "0001-01-01"},
        {"start_date": "2026-11-26", "end_date": "9999-12-31"},
        {"start_date": "2026-11-26", "enrolment_deadline": "0001-01-01"},
    ],
    ids=["start-9999", "start-year-1", "end-9999", "deadline-year-1"],
)
def test_session_dates_at_the_ends_of_the_calendar_are_refused(client, organizer, fields):
    response = client.post(
        "/sessions/new", data={"title": "边界期", "capacity": "60", "venue": "", **fields}
    )
    assert response.status_code == 200
    assert "日期须在 2000 年至 2100 年之间" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(TrainingSession.id))) == 0


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_lesson_days_at_the_ends_of_the_calendar_are_refused(client, organizer, day):
    session = make_session()
    response = client.post(
        f"/sessions/{session.id}/lessons/new",
        data=_lesson_form(make_course(), day=day, start="00:30", end="23:30"),
    )
    assert response.status_code == 200
    assert "日期须在 2000 年至 2100 年之间" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Lesson.id))) == 0


@pytest.mark.parametrize("start", [date(1, 1, 1), date(9999, 12, 30)], ids=["year-1", "year-9999"])
def test_sessions_at_the_ends_of_the_calendar_plan_next_and_export(client, organizer, start):
    source = make_session(title="边界期", start=start, days=2)
    make_lesson(session=source, day=start + timedelta(days=1), start=time(9), end=time(11))
    form = client.get(f"/sessions/{source.id}/plan-next")
    assert form.status_code == 200
    response = client.post(
        f"/sessions/{source.id}/plan-next", data={"title": "新一期", "start_date": "9999-12-31"}
    )
    assert response.status_code == 200
    assert "日期须在 2000 年至 2100 年之间" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(TrainingSession.id))) == 1
    ics = client.get(f"/sessions/{source.id}/timetable.ics")
    assert ics.status_code == 200 and b"BEGIN:VEVENT" in ics.data
    assert f"DTSTART;TZID=Asia/Shanghai:{start.year:04d}".encode() in ics.data
