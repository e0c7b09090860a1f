"""Online study (线上学习/补学): viewing is credited only as real time passes, the hours rule,
the recording's quiz, make-ups counting as attendance, bad input and the organizer's export."""

from __future__ import annotations

import io
import struct
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from lms.attendance.hours import hours_ledger
from lms.attendance.models import Attendance, AttendanceMethod, AttendanceStatus
from lms.auth.models import Role
from lms.certificates.eligibility import session_eligibility
from lms.extensions import db
from lms.materials.models import Visibility
from lms.online import playback, services
from lms.online.models import CreditCategory, Recording, ViewingProgress
from lms.quizzes.attempts import finish_attempt, save_answer, start_attempt
from lms.quizzes.models import AttemptStatus
from tests import samples
from tests.conftest import login
from tests.factories import (
    make_course,
    make_enrollment,
    make_lesson,
    make_material,
    make_member,
    make_question,
    make_quiz,
    make_session,
    make_user,
)

START = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


class Clock:
    """The server's clock for lms.online.services, moved by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(playback, "utcnow", clock)
    return clock


def make_recording(
    *,
    seconds: int = 1800,
    course=None,
    lesson=None,
    quiz=None,
    category=None,
    visibility=None,
    title: str = "",
) -> Recording:
    organizer = make_user(roles={Role.ORGANIZER})
    if course is None and lesson is None:
        course = make_course(title="党史专题")
    material = make_material(
        uploader=organizer,
        course=course,
        lesson=lesson,
        name="党课录像.mp4",
        content=samples.mp4(),
        visibility=visibility or Visibility.ALL,
    )
    return services.create_recording(organizer, material, title, seconds, quiz, category)


@pytest.fixture
def trainee():
    return make_user(roles={Role.TRAINEE}, member=make_member(name="王𠮷祥"))


def beat(client, recording, position):
    return client.post(f"/online/recordings/{recording.id}/heartbeat", json={"position": position})


def progress_of(member, recording) -> ViewingProgress | None:
    return db.session.scalar(
        sa.select(ViewingProgress).where(
            ViewingProgress.member_id == member.id, ViewingProgress.recording_id == recording.id
        )
    )


def watch_through(client, clock, recording, step: int = 10, start: float = 0.0):
    """Play the whole recording in real time, one heartbeat every `step` seconds."""
    position = start
    beat(client, recording, position)
    while position < recording.duration_seconds:
        clock.advance(step)
        position = min(position + step, recording.duration_seconds)
        response = beat(client, recording, position)
        assert response.status_code == 200, response.get_json()
    return response.get_json()


# --- the anti-faking rule --------------------------------------------------------------------


def test_posting_the_end_right_after_starting_earns_nothing(client, clock, trainee):
    recording = make_recording(seconds=1800)
    login(client, trainee)
    assert client.get(f"/online/recordings/{recording.id}").status_code == 200
    beat(client, recording, 0)
    clock.advance(1)
    state = beat(client, recording, 1800).get_json()
    assert state["watched"] == 0 and state["percent"] == 0 and not state["credited"]
    progress = progress_of(trainee.member, recording)
    assert progress.watched_through_at is None and progress.credited_at is None
    assert services.online_hours(trainee.member_id, 2026) == 0


def test_heartbeats_faster_than_real_time_credit_only_the_time_that_passed(client, clock, trainee):
    recording = make_recording(seconds=600)
    login(client, trainee)
    beat(client, recording, 0)
    position = 0
    for _ in range(100):  # claims 3 s of video every second
        clock.advance(1)
        position += 3
        beat(client, recording, position)
    progress = progress_of(trainee.member, recording)
    assert progress.watched_seconds <= 100  # never more than the 100 s that passed
    assert progress.watched_seconds >= 99
    assert progress.watched_through_at is None

    # Big jumps each second (seeking ahead) earn nothing at all.
    clock.advance(1)
    before = progress.watched_seconds
    for _ in range(5):
        clock.advance(1)
        position = min(position + 30, 600)
        beat(client, recording, position)
    assert progress_of(trainee.member, recording).watched_seconds == before


def test_record_heartbeat_credits_at_most_the_elapsed_time(trainee):
    recording = make_recording(seconds=600)
    progress = playback.progress_for(trainee.member, recording)
    assert playback.record_heartbeat(progress, 0, START) == 0
    assert playback.record_heartbeat(progress, 12, START + timedelta(seconds=10)) == 10
    # within the tolerance: credited the elapsed 10 s, not the 12 claimed
    assert playback.record_heartbeat(progress, 40, START + timedelta(seconds=20)) == 0
    assert playback.record_heartbeat(progress, 30, START + timedelta(seconds=30)) == 0  # back
    assert playback.record_heartbeat(progress, 40, START + timedelta(seconds=40)) == 10
    assert progress.watched == [[0.0, 10.0], [30.0, 40.0]]


def test_gaps_are_not_credited(client, clock, trainee):
    """A hidden tab or a pause sends no heartbeats: the next one after the silence only starts
    a new stretch, even if it claims the video ran on meanwhile."""
    recording = make_recording(seconds=1800)
    login(client, trainee)
    beat(client, recording, 0)
    clock.advance(10)
    beat(client, recording, 10)
    clock.advance(300)  # five silent minutes
    state = beat(client, recording, 310).get_json()
    assert state["watched"] == 10 and state["credited_now"] == 0
    clock.advance(10)
    assert beat(client, recording, 320).get_json()["watched"] == 20


def test_rewatching_a_part_does_not_count_twice(client, clock, trainee):
    recording = make_recording(seconds=600)
    login(client, trainee)
    for _round in range(3):
        beat(client, recording, 0)
        for second in range(10, 70, 10):
            clock.advance(10)
            beat(client, recording, second)
        clock.advance(120)
    assert progress_of(trainee.member, recording).watched_seconds == 60


def test_resume_where_they_left_off(client, clock, trainee):
    recording = make_recording(seconds=1800)
    login(client, trainee)
    beat(client, recording, 100)
    clock.advance(10)
    beat(client, recording, 110)
    page = client.get(f"/online/recordings/{recording.id}").get_data(as_text=True)
    assert 'data-resume="110.0"' in page
    assert f'src="/materials/versions/{recording.material_version_id}/file"' in page


# --- credit rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "category", "hours"),
    [
        (1800, CreditCategory.COURSE, "1"),
        (1799, CreditCategory.SHORT, "0.5"),
        (900, CreditCategory.SHORT, "0.5"),
        (899, CreditCategory.MICRO, "0.25"),
    ],
)
def test_credit_rule_boundaries(seconds, category, hours):
    recording = make_recording(seconds=seconds)
    assert services.category_for(seconds) is category
    assert services.hours_for(recording, quiz_passed=False) == Decimal(hours)


def test_credit_rule_is_editable(client):
    login(client, make_user(roles={Role.ORGANIZER}))
    page = client.get("/online/rules").get_data(as_text=True)
    assert 'value="30"' in page and 'value="0.25"' in page
    response = client.post(
        "/online/rules",
        data={
            "course_minutes": "20",
            "micro_minutes": "10",
            "course": "1.5",
            "short": "0.75",
            "micro": "0.2",
            "quiz": "1",
        },
    )
    assert response.status_code == 302
    assert services.category_for(1200) is CreditCategory.COURSE
    assert services.category_for(599) is CreditCategory.MICRO
    assert services.hours_for(make_recording(seconds=1200), False) == Decimal("1.5")
    # refused: a share that is not a multiple of 0.05, micro above course, not a number, a
    # number too large to divide (once a 500)
    for bad in (
        {"micro": "0.33"},
        {"micro_minutes": "40"},
        {"course": "abc"},
        {"course": "9" * 40},
    ):
        data = {
            "course_minutes": "20",
            "micro_minutes": "10",
            "course": "1.5",
            "short": "0.75",
            "micro": "0.2",
            "quiz": "1",
            **bad,
        }
        response = client.post("/online/rules", data=data)
        assert response.status_code == 200
        assert "invalid-feedback" in response.get_data(as_text=True)
    assert services.credit_rules()["course"] == "1.5"


def test_watching_through_credits_the_rule_and_the_ledger_shows_it(client, clock, trainee):
    recording = make_recording(seconds=1800)
    login(client, trainee)
    state = watch_through(client, clock, recording)
    assert state["credited"] and state["percent"] == 100
    progress = progress_of(trainee.member, recording)
    assert progress.credited_hours == Decimal("1") and not progress.made_up
    assert services.online_hours(trainee.member_id, 2026) == Decimal("1.00")
    assert services.online_hours(trainee.member_id, 2025) == 0
    lines = hours_ledger(trainee.member, 2026)
    assert [(line.kind, line.hours) for line in lines] == [("online", Decimal("1.00"))]
    # crediting happens once
    clock.advance(10)
    beat(client, recording, 1800)
    assert services.online_hours(trainee.member_id, 2026) == Decimal("1.00")


def test_the_quiz_must_be_passed_when_there_is_one(client, clock, trainee):
    course = make_course()
    quiz = make_quiz([make_question(correct=[1])], course=course, pass_mark=100, max_attempts=2)
    recording = make_recording(seconds=600, course=course, quiz=quiz)
    login(client, trainee)
    watch_through(client, clock, recording)
    progress = progress_of(trainee.member, recording)
    assert progress.watched_through_at is not None and progress.credited_at is None
    page = client.get(f"/online/recordings/{recording.id}").get_data(as_text=True)
    assert "请完成随堂测试" in page

    failed = start_attempt(quiz, trainee.member)
    save_answer(failed, 1, {"choices": [0]})
    finish_attempt(failed, AttemptStatus.SUBMITTED)
    client.get(f"/online/recordings/{recording.id}")
    assert progress_of(trainee.member, recording).credited_at is None

    passed = start_attempt(quiz, trainee.member)
    save_answer(passed, 1, {"choices": [1]})
    finish_attempt(passed, AttemptStatus.SUBMITTED)
    page = client.get(f"/online/recordings/{recording.id}").get_data(as_text=True)
    progress = progress_of(trainee.member, recording)
    # a micro-course 0.25 plus 0.5 for the passed test
    assert progress.credited_hours == Decimal("0.75")
    assert "0.75" in page


# --- make-up ---------------------------------------------------------------------------------


def test_a_made_up_lesson_counts_for_completion_and_the_certificate(client, clock, trainee):
    session = make_session(start=date(2026, 11, 26))
    first = make_lesson(session=session, start=time(8), end=time(10))
    missed = make_lesson(session=session, start=time(14), end=time(16))
    make_enrollment(session, trainee.member)
    db.session.add(
        Attendance(
            member_id=trainee.member_id,
            lesson_id=first.id,
            status=AttendanceStatus.PRESENT,
            method=AttendanceMethod.MANUAL,
        )
    )
    db.session.add(
        Attendance(
            member_id=trainee.member_id,
            lesson_id=missed.id,
            status=AttendanceStatus.ABSENT,
            method=AttendanceMethod.MANUAL,
        )
    )
    db.session.flush()
    session.quiz_required = False
    (row,) = session_eligibility(session)
    assert not row.eligible

    recording = make_recording(seconds=900, lesson=missed, visibility=Visibility.ENROLLED)
    other = make_recording(seconds=900)
    login(client, trainee)
    listed = [item.recording.id for item in services.study_list(trainee)]
    assert listed.index(recording.id) < listed.index(other.id)  # make-ups first
    page = client.get("/online/").get_data(as_text=True)
    assert page.index(f"/online/recordings/{recording.id}") < page.index(
        f"/online/recordings/{other.id}"
    )
    assert "补学" in page

    watch_through(client, clock, recording)
    attendance = db.session.scalar(
        sa.select(Attendance).where(
            Attendance.member_id == trainee.member_id, Attendance.lesson_id == missed.id
        )
    )
    assert attendance.status is AttendanceStatus.PRESENT
    assert attendance.method is AttendanceMethod.ONLINE
    (row,) = session_eligibility(session)
    assert row.eligible and row.hours == Decimal(4)
    progress = progress_of(trainee.member, recording)
    assert progress.made_up and progress.credited_hours == 0  # the lesson's hours count instead
    assert services.online_hours(trainee.member_id, 2026) == 0
    assert sum(line.hours for line in hours_ledger(trainee.member, 2026)) == Decimal(4)


def test_a_lesson_attended_in_person_is_not_credited_again(client, clock, trainee):
    session = make_session()
    lesson = make_lesson(session=session)
    make_enrollment(session, trainee.member)
    db.session.add(
        Attendance(
            member_id=trainee.member_id,
            lesson_id=lesson.id,
            status=AttendanceStatus.PRESENT,
            method=AttendanceMethod.QR,
        )
    )
    recording = make_recording(seconds=900, lesson=lesson)
    login(client, trainee)
    watch_through(client, clock, recording)
    progress = progress_of(trainee.member, recording)
    assert progress.credited_at is not None and progress.credited_hours == 0
    assert not progress.made_up


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("not json", "application/json", "请求格式无效"),
        ("[1, 2]", "application/json", "请求格式无效"),
        ('{"position": -1}', "application/json", "播放位置无效"),
        ('{"position": 1e9}', "application/json", "播放位置超出视频时长"),
        ('{"position": "10"}', "application/json", "播放位置无效"),
        ('{"position": true}', "application/json", "播放位置无效"),
        ('{"position": NaN}', "application/json", "播放位置无效"),
        ('{"nothing": 1}', "application/json", "播放位置无效"),
        ("position=10", "application/x-www-form-urlencoded", "请求格式无效"),
    ],
)
def test_bad_heartbeats_are_refused_and_change_nothing(
    client, clock, trainee, body, content_type, message
):
    recording = make_recording(seconds=600)
    login(client, trainee)
    beat(client, recording, 0)
    clock.advance(10)
    response = client.post(
        f"/online/recordings/{recording.id}/heartbeat", data=body, content_type=content_type
    )
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    progress = progress_of(trainee.member, recording)
    assert progress.position_seconds == 0 and progress.last_heartbeat_at == START
    assert progress.watched_seconds == 0


def test_bad_heartbeat_messages_are_in_english_too(client, trainee):
    recording = make_recording(seconds=600)
    login(client, trainee)
    client.post("/language", data={"language": "en"})
    response = beat(client, recording, -5)
    assert response.status_code == 400
    assert "position" in response.get_json()["error"].lower()


def test_someone_elses_recording_is_refused(client, clock, trainee):
    """An enrolled-only lesson recording of a session the trainee is not in."""
    lesson = make_lesson()
    recording = make_recording(seconds=600, lesson=lesson, visibility=Visibility.ENROLLED)
    login(client, trainee)
    assert client.get(f"/online/recordings/{recording.id}").status_code == 403
    assert beat(client, recording, 0).status_code == 403
    assert beat(client, type("R", (), {"id": 999999})(), 0).status_code == 404
    assert progress_of(trainee.member, recording) is None
    assert recording.id not in [item.recording.id for item in services.study_list(trainee)]


# --- organizers ------------------------------------------------------------------------------


def test_organizer_sees_who_studies_what_and_exports_it(client, clock, trainee):
    recording = make_recording(seconds=600, title="微课：党章")
    login(client, trainee)
    watch_through(client, clock, recording)
    half = make_recording(seconds=1800, title="党史专题")
    watch_through_half = half.duration_seconds // 2
    beat(client, half, 0)
    for second in range(10, watch_through_half + 1, 10):
        clock.advance(10)
        beat(client, half, second)

    login(client, make_user(roles={Role.ORGANIZER}))
    page = client.get("/online/manage").get_data(as_text=True)
    assert "王𠮷祥" in page and "50%" in page and "100%" in page
    response = client.get("/online/manage/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("工号", "姓名", "党支部", "录像", "进度（%）")
    by_title = {row[3]: row for row in rows[1:]}
    assert by_title[recording.title][4] == 100 and by_title[recording.title][7] == 0.25
    assert by_title[half.title][4] == 50 and by_title[half.title][7] is None
    filtered = client.get(f"/online/manage/export.xlsx?recording={half.id}")
    rows = list(load_workbook(io.BytesIO(filtered.data)).active.iter_rows(values_only=True))
    assert len(rows) == 2


def _mp4_with_duration(seconds: int) -> bytes:
    mvhd_body = b"\0\0\0\0" + struct.pack(">IIII", 0, 0, 1000, seconds * 1000) + b"\0" * 80
    mvhd = struct.pack(">I", 8 + len(mvhd_body)) + b"mvhd" + mvhd_body
    moov = struct.pack(">I", 8 + len(mvhd)) + b"moov" + mvhd
    return samples.mp4() + moov


def test_organizer_adds_a_recording_reading_its_duration(client):
    organizer = make_user(roles={Role.ORGANIZER})
    course = make_course()
    material = make_material(
        uploader=organizer, course=course, name="微课.mp4", content=_mp4_with_duration(754)
    )
    pdf = make_material(uploader=organizer, course=course)
    quiz = make_quiz(course=course)
    foreign_quiz = make_quiz(course=make_course())
    login(client, organizer)
    page = client.get("/online/recordings/new").get_data(as_text=True)
    assert material.title in page and pdf.title not in page.split("material_id")[1][:2000]
    response = client.post(
        "/online/recordings/new",
        data={"material_id": material.id, "quiz_id": foreign_quiz.id, "credit_category": ""},
    )
    assert "测试须属于同一课程或同一期次" in response.get_data(as_text=True)
    response = client.post(
        "/online/recordings/new",
        data={"material_id": material.id, "duration": "99:99", "credit_category": ""},
    )
    assert "时长格式" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Recording.id))) == 0
    response = client.post(
        "/online/recordings/new",
        data={"material_id": material.id, "quiz_id": quiz.id, "credit_category": ""},
    )
    assert response.status_code == 302
    recording = db.session.scalar(sa.select(Recording))
    assert recording.duration_seconds == 754 and recording.quiz_id == quiz.id
    assert services.recording_category(recording) is CreditCategory.MICRO


def test_mp4_duration_reads_mvhd_and_refuses_garbage():
    assert services.mp4_duration(io.BytesIO(_mp4_with_duration(1800))) == 1800
    assert services.mp4_duration(io.BytesIO(samples.mp4())) is None
    assert services.mp4_duration(io.BytesIO(b"\0\0\0\x10moov\0\0")) is None


def test_pages_read_in_english(client, clock, trainee):
    recording = make_recording(seconds=600, title="Micro")
    login(client, trainee)
    client.post("/language", data={"language": "en"})
    page = client.get("/online/").get_data(as_text=True)
    assert "Online study" in page and "Running time 0:10:00" in page
    page = client.get(f"/online/recordings/{recording.id}").get_data(as_text=True)
    assert "Only time actually played in the foreground counts" in page
    organizer = make_user(roles={Role.ORGANIZER})
    login(client, organizer)
    client.post("/language", data={"language": "en"})
    page = client.get("/online/manage").get_data(as_text=True)
    assert "Online study overview" in page and "Quiz pending" not in page
    assert "Online study hours rule" in client.get("/online/rules").get_data(as_text=True)
