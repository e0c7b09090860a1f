"""The trainee's daily work (issue 16): 我的课表 in the navigation, the profile page, lesson links
and lesson materials on the course page, the wrong-answer book's answers, notifications for
certificates, enrollment changes and opening quizzes, the calendar page, and 忘记密码."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from lms.attendance.models import Attendance, AttendanceMethod, AttendanceStatus
from lms.auth.models import Role
from lms.certificates import issuing
from lms.clock import local_today
from lms.database import utcnow
from lms.extensions import db
from lms.materials.models import Visibility
from lms.notifications.models import Notification
from lms.quizzes import attempts
from lms.quizzes import services as quiz_services
from lms.quizzes.models import AttemptStatus, Feedback, QuizStatus
from lms.quizzes.questions import QuestionType
from lms.rotation import services as rotation_services
from lms.sessions.models import EnrollmentStatus, SessionStatus
from tests.conftest import login
from tests.factories import (
    make_branch,
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

EN = {"Accept-Language": "en"}


@pytest.fixture
def trainee():
    member = make_member(name="王𠮷祥", branch=make_branch(name="发电一部第一党支部"))
    return make_user(roles={Role.TRAINEE}, member=member)


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def _plain(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))


def _attend(member, lesson):
    db.session.add(
        Attendance(
            member_id=member.id,
            lesson_id=lesson.id,
            status=AttendanceStatus.PRESENT,
            method=AttendanceMethod.MANUAL,
        )
    )
    db.session.flush()


def _notes(member, kind=None) -> list[Notification]:
    stmt = sa.select(Notification).where(Notification.member_id == member.id)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt.order_by(Notification.id)))


def _graduated(trainee):
    """A session this year the trainee attended in full: 3 hours."""
    session = make_session(start=local_today(), status=SessionStatus.IN_PROGRESS)
    lesson = make_lesson(session=session, course=make_course(hours="3"))
    make_enrollment(session, trainee.member)
    _attend(trainee.member, lesson)
    return session, lesson


# --- navigation and the profile page ---------------------------------------------------------


@pytest.mark.parametrize(("headers", "label"), [({}, "我的课表"), (EN, "My timetable")])
def test_navigation_offers_my_timetable_and_the_user_menu_opens_the_profile(
    client, trainee, headers, label
):
    login(client, trainee)
    nav = _text(client.get("/sessions/", headers=headers)).split("<main", 1)[0]
    assert f'href="/me/timetable">{label}</a>' in nav
    assert 'href="/me/profile"' in nav and "/account/password" not in nav


def test_an_account_without_a_member_has_no_timetable_in_the_navigation(client):
    login(client, make_user(roles={Role.LECTURER}))
    nav = _text(client.get("/")).split("<main", 1)[0]
    assert "/me/timetable" not in nav and 'href="/me/profile"' in nav


def test_profile_shows_branch_category_hours_against_target_and_certificates(client, trainee):
    session, _lesson = _graduated(trainee)
    rows = issuing.to_issue(session)
    (certificate,) = issuing.issue_batch(rows, session=session)
    login(client, trainee)
    page = _text(client.get("/me/profile"))
    assert "王𠮷祥" in page and trainee.member.staff_no in page
    assert "发电一部第一党支部" in page and "党员" in page
    assert f"{local_today().year} 年学时" in page
    assert "已获 3 / 年度目标 32 学时" in page and "还差 29 学时" in page
    assert certificate.serial in page and f"/certificates/{certificate.id}.pdf" in page
    assert 'href="/account/password"' in page

    english = _text(client.get("/me/profile", headers=EN))
    assert "3 of 32 hours (annual target)" in english and "29 hours to go" in english
    assert "Party member" in english and "Change password" in english


def test_profile_of_an_account_without_a_member_shows_the_account_only(client):
    admin = make_user(roles={Role.ADMIN}, username="root-admin")
    login(client, admin)
    page = _text(client.get("/me/profile"))
    assert "root-admin" in page and 'href="/account/password"' in page
    assert "年度目标" not in page and "结业证书" not in page


# --- timetable links and lesson materials ----------------------------------------------------


def test_lesson_titles_in_my_timetable_link_to_the_lesson(client, trainee):
    session = make_session(start=local_today() + timedelta(days=7))
    lesson = make_lesson(session=session, course=make_course(title="党章学习"))
    make_enrollment(session, trainee.member)
    login(client, trainee)
    page = _text(client.get("/me/timetable"))
    assert f'<a href="/sessions/lessons/{lesson.id}">党章学习</a>' in page


def test_materials_uploaded_to_a_lesson_appear_on_its_course_page(client, trainee):
    lecturer = make_user(roles={Role.LECTURER})
    course = make_course(title="廉政教育")
    session = make_session(start=local_today() + timedelta(days=7))
    lesson = make_lesson(session=session, course=course, lecturer=lecturer)
    open_one = make_material(
        uploader=lecturer, lesson=lesson, visibility=Visibility.ALL, name="公开讲义.pdf"
    )
    enrolled_only = make_material(uploader=lecturer, lesson=lesson, name="学员讲义.pdf")
    login(client, trainee)
    page = _text(client.get(f"/courses/{course.id}"))
    assert "各课次的课件" in page and f"/materials/{open_one.id}" in page
    assert f"/materials/{enrolled_only.id}" not in page  # not enrolled yet
    assert f"/sessions/lessons/{lesson.id}" in page
    make_enrollment(session, trainee.member)
    page = _text(client.get(f"/courses/{course.id}"))
    assert f"/materials/{enrolled_only.id}" in page
    assert "Materials of the lessons" in _text(client.get(f"/courses/{course.id}", headers=EN))
    login(client, lecturer)  # the lecturer sees their own, enrolled or not
    assert f"/materials/{enrolled_only.id}" in _text(client.get(f"/courses/{course.id}"))


# --- the wrong-answer book -------------------------------------------------------------------


def _answer_wrong(trainee, question, **quiz_settings):
    quiz = make_quiz([question], title="党章测试", **quiz_settings)
    attempt = attempts.start_attempt(quiz, trainee.member)
    attempts.save_answer(attempt, 1, {"choices": [0]})
    attempts.finish_attempt(attempt, AttemptStatus.SUBMITTED)
    return quiz, attempt


def test_wrong_book_shows_the_answer_explanation_and_source(client, trainee):
    question = make_question(
        options=["甲", "乙", "丙"],
        correct=[1],
        explanation="党章第一条规定。",
        source="《中国共产党章程》第一条",
    )
    _quiz, attempt = _answer_wrong(trainee, question)
    login(client, trainee)
    page = _text(client.get("/quizzes/wrong-book"))
    assert question.current.stem in page
    plain = _plain(page)
    assert "正确答案：B" in plain
    assert "解析：党章第一条规定。" in plain
    assert "出处：《中国共产党章程》第一条" in plain
    assert f'来自：<a href="/quizzes/attempts/{attempt.id}/result">党章测试</a>' in page
    english = _plain(_text(client.get("/quizzes/wrong-book", headers=EN)))
    assert "Correct answer: B" in english and "Explanation: 党章第一条规定。" in english
    assert "Source: 《中国共产党章程》第一条" in english
    # Practice from it.
    practice = client.post("/quizzes/wrong-book/practice")
    assert practice.status_code == 302 and "/quizzes/attempts/" in practice.location


def test_wrong_book_names_fill_blank_and_true_false_answers(client, trainee):
    blank = make_question(type=QuestionType.FILL_BLANK, blanks=[["共产主义", "共产主义社会"]])
    true_false = make_question(type=QuestionType.TRUE_FALSE, correct=[1])
    quiz = make_quiz([blank, true_false])
    attempt = attempts.start_attempt(quiz, trainee.member)
    attempts.save_answer(attempt, 1, {"blanks": ["社会主义"]})
    attempts.save_answer(attempt, 2, {"choices": [0]})
    attempts.finish_attempt(attempt, AttemptStatus.SUBMITTED)
    login(client, trainee)
    page = _plain(_text(client.get("/quizzes/wrong-book")))
    assert "正确答案：共产主义 / 共产主义社会" in page and "正确答案：错误" in page


def test_wrong_book_keeps_the_key_of_a_quiz_that_shows_it_after_closing(client, trainee):
    question = make_question(correct=[1], explanation="保密的解析。")
    _answer_wrong(
        trainee, question, feedback=Feedback.AFTER_CLOSE, closes_at=utcnow() + timedelta(days=1)
    )
    login(client, trainee)
    page = _text(client.get("/quizzes/wrong-book"))
    assert question.current.stem in page
    assert "正确答案" not in page and "保密的解析" not in page
    assert "答案和解析将在测试关闭后公布" in page


# --- notifications ---------------------------------------------------------------------------


def test_a_certificate_issued_in_bulk_notifies_its_holder_once(client, trainee):
    session, _lesson = _graduated(trainee)
    login(client, make_user(roles={Role.ORGANIZER}))
    client.post(f"/certificates/sessions/{session.id}/issue")
    client.post(f"/certificates/sessions/{session.id}/issue")  # nothing new: no second note
    (note,) = _notes(trainee.member, "certificate_issued")
    certificate = issuing.live_holders(session, None)
    assert certificate == {trainee.member.id}
    login(client, trainee)
    page = _text(client.get("/me/notifications"))
    assert f"您的结业证书（{note.params['serial']}，{session.title}集中培训）已颁发" in page
    assert 'href="/certificates/mine"' in page
    english = _text(client.get("/me/notifications", headers=EN))
    assert f"Your completion certificate ({note.params['serial']}" in english


def test_the_organizer_marking_absent_notifies_the_member(app, client, trainee):
    session = make_session(start=local_today() - timedelta(days=1))  # absence once it has begun
    enrollment = make_enrollment(session, trainee.member)
    login(client, make_user(roles={Role.ORGANIZER}))
    client.post(f"/rotation/enrollments/{enrollment.id}/absent")
    client.post(f"/rotation/enrollments/{enrollment.id}/absent")  # already absent: no second
    assert enrollment.status is EnrollmentStatus.ABSENT
    (note,) = _notes(trainee.member, "absent")
    with app.test_request_context():
        assert session.title in note.text and note.url == "/me/timetable"


def test_closing_a_session_notifies_who_missed_it_not_who_completed_it(trainee):
    session, _lesson = _graduated(trainee)
    missed = make_member()
    make_enrollment(session, missed)
    rotation_services.close_session(session)
    assert [n.kind for n in _notes(missed)] == ["absent"]
    assert _notes(trainee.member, "absent") == []


def test_a_makeup_call_notifies_the_member(client, trainee):
    session = make_session(start=local_today() + timedelta(days=7))
    later = make_session(start=local_today() + timedelta(days=40))
    enrollment = make_enrollment(session, trainee.member)
    enrollment.status = EnrollmentStatus.ABSENT
    login(client, make_user(roles={Role.ORGANIZER}))
    client.post(f"/rotation/enrollments/{enrollment.id}/makeup", data={"session_id": later.id})
    (note,) = _notes(trainee.member, "makeup")
    assert later.title in note.text


def test_publishing_an_open_quiz_notifies_the_sessions_trainees_once(app, client, trainee):
    session = make_session(start=local_today(), status=SessionStatus.IN_PROGRESS)
    make_enrollment(session, trainee.member)
    on_leave = make_member()
    make_enrollment(session, on_leave).status = EnrollmentStatus.LEAVE_APPROVED
    stranger = make_member()
    quiz = make_quiz(session=session, status=QuizStatus.DRAFT, title="第一单元测试")
    login(client, make_user(roles={Role.ORGANIZER}))
    client.post(f"/quizzes/{quiz.id}/status?to=published")
    client.post(f"/quizzes/{quiz.id}/status?to=closed")
    client.post(f"/quizzes/{quiz.id}/status?to=published")
    assert quiz.status is QuizStatus.PUBLISHED
    (note,) = _notes(trainee.member, "quiz_opened")
    with app.test_request_context():
        assert "「第一单元测试」" in note.text and session.title in note.text
        assert note.url == f"/quizzes/{quiz.id}"
    assert _notes(on_leave) == [] and _notes(stranger) == []
    assert quiz_services.notify_quizzes_opening() == 0  # the daily pass does not repeat it


def test_a_quiz_opening_later_is_announced_by_the_daily_pass_on_its_day(trainee):
    session = make_session(start=local_today(), status=SessionStatus.IN_PROGRESS)
    make_enrollment(session, trainee.member)
    opens = utcnow() + timedelta(days=3)
    quiz = make_quiz(session=session, status=QuizStatus.DRAFT, opens_at=opens)
    quiz_services.set_quiz_status(quiz, QuizStatus.PUBLISHED)
    assert _notes(trainee.member, "quiz_opened") == []  # not yet
    assert quiz_services.notify_quizzes_opening(now=opens - timedelta(days=2)) == 0
    assert quiz_services.notify_quizzes_opening(now=opens - timedelta(minutes=5)) == 1
    assert quiz_services.notify_quizzes_opening(now=opens + timedelta(minutes=5)) == 0
    (note,) = _notes(trainee.member, "quiz_opened")
    assert note.params["quiz_id"] == quiz.id


def test_a_closed_window_or_a_course_quiz_is_never_announced(trainee):
    session = make_session(start=local_today(), status=SessionStatus.IN_PROGRESS)
    make_enrollment(session, trainee.member)
    make_quiz(session=session, closes_at=utcnow() - timedelta(hours=1))
    make_quiz()  # a course's quiz has no session to tell
    assert quiz_services.notify_quizzes_opening() == 0
    assert _notes(trainee.member) == []


def test_sessions_advance_command_announces_quizzes_opening_today(runner, trainee):
    session = make_session(start=local_today(), status=SessionStatus.IN_PROGRESS)
    make_enrollment(session, trainee.member)
    make_quiz(session=session)
    result = runner.invoke(args=["sessions", "advance"])
    assert result.exit_code == 0, result.output
    assert "1 trainees told a quiz opens today" in result.output
    assert len(_notes(trainee.member, "quiz_opened")) == 1


# --- the quiz window and the calendar page ---------------------------------------------------


@pytest.mark.parametrize(("headers", "words"), [({}, "不限"), (EN, "No limit")])
def test_a_quiz_without_a_window_says_so(client, trainee, headers, words):
    quiz = make_quiz()
    login(client, make_user(roles={Role.ORGANIZER}))
    page = _text(client.get(f"/quizzes/{quiz.id}", headers=headers))
    assert f'id="quiz-window">{words}</dd>' in page and "— – —" not in page


def test_a_quiz_open_from_a_time_says_it_has_no_closing(client):
    quiz = make_quiz(opens_at=utcnow() - timedelta(hours=1))
    login(client, make_user(roles={Role.ORGANIZER}))
    page = _text(client.get(f"/quizzes/{quiz.id}"))
    assert "起，不设截止" in page and "— – —" not in page


def test_calendar_page_offers_copy_and_a_webcal_link(client, trainee):
    login(client, trainee)
    client.post("/me/calendar?action=issue")
    token = trainee.calendar_token
    page = _text(client.get("/me/calendar"))
    assert f'value="http://localhost/calendar/{token}.ics"' in page
    assert 'data-copy-target="feed-url"' in page
    assert f'href="webcal://localhost/calendar/{token}.ics"' in page
    english = _text(client.get("/me/calendar", headers=EN))
    assert "Copy" in english and "Subscribe in my calendar app" in english


# --- 忘记密码 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "link", "words"),
    [
        ({}, "忘记密码？", "请联系党校组织者或系统管理员"),
        (EN, "Forgot your password?", "Ask a party-school organizer"),
    ],
)
def test_sign_in_page_explains_how_to_get_a_reset(client, headers, link, words):
    login_page = _text(client.get("/login", headers=headers))
    assert f'href="/forgot-password" id="forgot-password">{link}</a>' in login_page
    page = _text(client.get("/forgot-password", headers=headers))
    assert words in page and 'href="/login"' in page
    assert "/admin/users" not in page


def test_an_admin_is_led_from_forgot_password_to_the_reset(client):
    login(client, make_user(roles={Role.ADMIN}))
    page = _text(client.get("/forgot-password"))
    assert 'href="/admin/users"' in page
    assert "重置密码（生成一次性密码）" in page


def test_hours_in_profile_ignore_other_years(client, trainee):
    session = make_session(start=local_today().replace(year=local_today().year - 1, day=1))
    lesson = make_lesson(session=session, course=make_course(hours="2"))
    make_enrollment(session, trainee.member)
    _attend(trainee.member, lesson)
    login(client, trainee)
    assert "已获 0 / 年度目标 32 学时" in _text(client.get("/me/profile"))
