"""本月工作: the organizer's page of a month's sessions and what each still needs."""

from __future__ import annotations

import re
import secrets
from datetime import date, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from lms.auth.models import Role
from lms.certificates.models import Certificate
from lms.clock import local_today
from lms.database import utcnow
from lms.extensions import db
from lms.quizzes.models import Attempt, QuizStatus
from lms.sessions.models import EnrollmentStatus, SessionStatus
from tests.conftest import login
from tests.factories import (
    make_attendance,
    make_enrollment,
    make_lesson,
    make_member,
    make_quiz,
    make_session,
    make_user,
)
from tests.test_records import _statements


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _past_month() -> date:
    """The 3rd of a month well in the past: every lesson in it has happened."""
    earlier = local_today().replace(day=1) - timedelta(days=40)
    return earlier.replace(day=3)


def _future_month() -> date:
    later = local_today().replace(day=1) + timedelta(days=70)
    return later.replace(day=10)


def _session(start: date, status: SessionStatus, members: int = 2, **kwargs):
    session = make_session(start=start, status=status, **kwargs)
    make_lesson(session=session, day=start, start=time(8, 30), end=time(10, 30))
    make_lesson(session=session, day=start, start=time(14, 0), end=time(16, 0))
    enrolled = [make_member() for _ in range(members)]
    for member in enrolled:
        make_enrollment(session, member)
    return session, enrolled


def _certify(session, member) -> None:
    db.session.add(
        Certificate(
            serial=f"DX-{secrets.token_hex(4)}",
            member_id=member.id,
            session_id=session.id,
            name=member.name,
            hours=Decimal("4"),
            issued_on=session.end_date,
            signatory="党委书记",
            verify_token=secrets.token_urlsafe(16),
            pdf_sha256="0" * 64,
        )
    )
    db.session.flush()


def _completed(start: date, certified: bool):
    session, members = _session(start, SessionStatus.COMPLETED)
    for member in members:
        for lesson in session.lessons:
            make_attendance(member, lesson)
    for enrollment in session_enrollments(session):
        enrollment.status = EnrollmentStatus.COMPLETED
    if certified:
        for member in members:
            _certify(session, member)
    db.session.flush()
    return session


def session_enrollments(session):
    from lms.sessions.models import Enrollment

    return db.session.scalars(sa.select(Enrollment).where(Enrollment.session_id == session.id))


def _card(html: str, session) -> str:
    """The HTML of one session's card on the page."""
    opening = f'<div class="card mb-3" id="session-{session.id}">'
    match = re.search(re.escape(opening) + r"(.*?)\n  </div>\n", html, re.S)
    assert match, f"no card for {session.title}"
    return match.group(1)


def test_a_session_with_unrecorded_attendance_shows_it_with_a_link(client, organizer):
    start = _past_month()
    session, members = _session(start, SessionStatus.IN_PROGRESS)
    for member in members:
        make_attendance(member, session.lessons[0])  # the afternoon lesson was never recorded
    html = client.get(f"/sessions/this-month?month={_month(start)}").get_data(as_text=True)
    card = _card(html, session)
    assert f'href="/attendance/sessions/{session.id}"' in card
    assert "已上 2 节课中有 1 节考勤未记全，缺 2 人次。" in card
    # Its last day has passed and it is still in progress: closing it is on the list too.
    assert "结束日期已过" in card and f'href="/sessions/{session.id}"' in card


def test_a_completed_session_with_certificates_issued_needs_no_issuing(client, organizer):
    start = _past_month()
    certified = _completed(start, certified=True)
    uncertified = _completed(start + timedelta(days=7), certified=False)
    html = client.get(f"/sessions/this-month?month={_month(start)}").get_data(as_text=True)
    done = _card(html, certified)
    assert "还没有结业证书" not in done and "考勤未记全" not in done
    assert "已发结业证书 2 份。" in done  # for information, not a task
    assert "项待办" not in done
    waiting = _card(html, uncertified)
    assert "2 名已结业学员还没有结业证书。" in waiting
    assert f'href="/certificates/sessions/{uncertified.id}"' in waiting


def test_open_enrolment_shows_counts_deadline_and_leave_requests(client, organizer):
    start = _future_month()
    session, _members = _session(start, SessionStatus.OPEN, members=3, capacity=40)
    session.enrolment_deadline = start - timedelta(days=5)
    rows = list(session_enrollments(session))
    rows[0].status = EnrollmentStatus.CONFIRMED
    rows[1].status = EnrollmentStatus.LEAVE_REQUESTED
    db.session.flush()
    html = client.get(f"/sessions/this-month?month={_month(start)}").get_data(as_text=True)
    card = _card(html, session)
    assert "报名中：已确认 1 人，已通知待确认 1 人（容量 40）。" in card
    assert "报名截止" in card
    assert "1 条请假申请待审批。" in card
    assert f'href="/rotation/sessions/{session.id}/enrollments"' in card


def test_quiz_tasks_name_draft_missing_and_unfinished_quizzes(client, organizer):
    start = _past_month()
    drafted, _members = _session(start, SessionStatus.IN_PROGRESS)
    draft = make_quiz(session=drafted, status=QuizStatus.DRAFT, title="党章测试")
    missing, _members = _session(start + timedelta(days=3), SessionStatus.IN_PROGRESS)
    taken, _members = _session(start + timedelta(days=6), SessionStatus.IN_PROGRESS)
    quiz = make_quiz(session=taken, title="条例测试")
    html = client.get(f"/sessions/this-month?month={_month(start)}").get_data(as_text=True)
    assert "测试「党章测试」尚未发布。" in _card(html, drafted)
    assert f'href="/quizzes/{draft.id}"' in _card(html, drafted)
    assert f'href="/quizzes/new?home=session:{missing.id}"' in _card(html, missing)
    assert "测试「条例测试」还有 2 人未完成。" in _card(html, taken)
    assert f'href="/quizzes/{quiz.id}/stats"' in _card(html, taken)
    # The link preselects the session in the new quiz's form.
    form = client.get(f"/quizzes/new?home=session:{missing.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="session:{missing.id}">', form)


def test_an_attempt_past_its_deadline_is_listed_until_the_statistics_grade_it(client, organizer):
    start = _past_month()
    session, members = _session(start, SessionStatus.IN_PROGRESS, members=1)
    quiz = make_quiz(session=session, title="廉政测试")
    db.session.add(
        Attempt(
            quiz_id=quiz.id,
            member_id=members[0].id,
            seed=7,
            deadline=utcnow() - timedelta(hours=1),
        )
    )
    db.session.flush()
    url = f"/sessions/this-month?month={_month(start)}"
    card = _card(client.get(url).get_data(as_text=True), session)
    assert "测试「廉政测试」有 1 份答卷超时未交" in card
    assert f'href="/quizzes/{quiz.id}/stats"' in card
    client.get(f"/quizzes/{quiz.id}/stats")  # finishes and grades it from what was saved
    assert "超时未交" not in _card(client.get(url).get_data(as_text=True), session)


def test_a_session_that_ended_last_month_is_listed_while_it_still_needs_work(client, organizer):
    start = _past_month()
    next_month = (start.replace(day=28) + timedelta(days=5)).replace(day=1)
    waiting = _completed(start, certified=False)
    finished = _completed(start + timedelta(days=2), certified=True)
    html = client.get(f"/sessions/this-month?month={_month(next_month)}").get_data(as_text=True)
    assert "已结束、仍有待办的期次" in html
    assert f'id="session-{waiting.id}"' in html
    assert f'id="session-{finished.id}"' not in html


def test_the_page_takes_the_same_queries_for_any_number_of_sessions(client, organizer):
    start = _past_month()
    url = f"/sessions/this-month?month={_month(start)}"

    def add_sessions(n: int) -> None:
        for i in range(n):
            session, members = _session(start + timedelta(days=i % 20), SessionStatus.IN_PROGRESS)
            make_attendance(members[0], session.lessons[0])
            make_quiz(session=session)

    add_sessions(1)
    few = _statements(lambda: client.get(url))
    add_sessions(12)
    many = _statements(lambda: client.get(url))
    response = client.get(url)
    assert response.get_data(as_text=True).count('class="card mb-3"') == 13
    assert few > 5 and many == few, (few, many)


@pytest.mark.parametrize("value", ["2026-13", "abc", "2026-1", "1999-12", "<script>"])
def test_a_bad_month_gets_a_clear_message(client, organizer, value):
    response = client.get("/sessions/this-month", query_string={"month": value})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "无法识别" in html and "2026-12" in html
    assert "<script>" not in html


def test_an_empty_month_says_what_to_do(client, organizer):
    html = client.get("/sessions/this-month?month=2099-01").get_data(as_text=True)
    assert "本月没有安排期次" in html and 'href="/sessions/new"' in html


def test_the_page_is_linked_from_the_menu_home_and_sessions_list(client, organizer):
    for url in ("/", "/sessions/"):
        assert 'href="/sessions/this-month"' in client.get(url).get_data(as_text=True)


def test_a_trainee_is_not_shown_the_link(client):
    login(client, make_user(roles={Role.TRAINEE}))
    assert "/sessions/this-month" not in client.get("/sessions/").get_data(as_text=True)


# --- empty states ----------------------------------------------------------------------------

# (role, URL, what the page says) for each list page, with nothing in the database.
EMPTY_PAGES = [
    (Role.ORGANIZER, "/sessions/", "还没有期次。点击「新建期次」添加第一期培训。"),
    (Role.TRAINEE, "/sessions/", "还没有安排培训期次，组织者安排后会在这里显示。"),
    (Role.ORGANIZER, "/sessions/?status=open", "没有处于该状态的期次。"),
    (Role.TRAINEE, "/sessions/calendar?month=2031-02", "本月没有安排期次。"),
    (Role.ORGANIZER, "/sessions/this-month?month=2031-02", "本月没有安排期次。"),
    (Role.ORGANIZER, "/courses/", "还没有已发布的课程。点击「新建课程」添加第一门课程"),
    (Role.TRAINEE, "/courses/", "还没有发布的课程，组织者发布后会在这里显示。"),
    (Role.TRAINEE, "/courses/?q=不存在的课程", "没有符合条件的课程。"),
    (Role.ORGANIZER, "/courses/themes", "还没有主题。"),
    (Role.ORGANIZER, "/members/", "还没有学员。从 Excel 导入花名册"),
    (Role.ORGANIZER, "/members/?q=不存在的人", "没有符合条件的学员。"),
    (Role.ORGANIZER, "/members/branches", "还没有党支部。"),
    (Role.ORGANIZER, "/rotation/cycles/", "还没有轮训周期。新建一个轮训周期"),
    (Role.ORGANIZER, "/rotation/blackouts", "还没有登记。"),
    (Role.ORGANIZER, "/reports/", "还没有轮训周期。新建轮训周期后"),
    (Role.ORGANIZER, "/quizzes/banks/", "还没有题库。点击「新建题库」添加"),
    (Role.LECTURER, "/quizzes/banks/", "请联系组织者把您设为题库的作者"),
    (Role.ORGANIZER, "/quizzes/", "还没有测试。点击「新建测试」"),
    (Role.TRAINEE, "/quizzes/", "现在没有您可以参加的测试。"),
    (Role.ORGANIZER, "/attendance/hours", "还没有认定记录。"),
    (Role.ORGANIZER, "/evaluation/", "还没有评分。"),
    (Role.LECTURER, "/evaluation/mine", "您的课还没有收到评分。"),
    (Role.ORGANIZER, "/online/manage", "还没有录像。先在课程或课次上传 MP4 视频资料"),
    (Role.TRAINEE, "/online/", "暂时没有可学习的录像。"),
    (Role.ADMIN, "/admin/audit", "还没有审计记录。"),
    (Role.ADMIN, "/admin/users?q=没有这个人", "没有找到与「没有这个人」匹配的用户。"),
]

# The trainee's own pages need a member record behind the account.
MEMBER_PAGES = [
    ("/me/timetable", "您还没有被安排参加培训期次，组织者安排后会在这里显示。"),
    ("/me/notifications", "没有消息。"),
    ("/me/hours", "这一年还没有学时记录。"),
    ("/me/attendance", "还没有考勤记录。"),
    ("/me/profile", "您还没有结业证书。"),
    ("/certificates/mine", "您还没有结业证书。"),
    ("/quizzes/wrong-book", "错题本是空的。"),
]


@pytest.mark.parametrize(("role", "url", "text"), EMPTY_PAGES, ids=lambda v: str(v))
def test_an_empty_list_says_why_and_what_to_do(client, login_as, role, url, text):
    login_as(role)
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "data-empty-state" in html
    assert text in html


@pytest.mark.parametrize(("url", "text"), MEMBER_PAGES)
def test_a_new_trainees_own_lists_say_why(client, url, text):
    login(client, make_user(roles={Role.TRAINEE}, member=make_member()))
    html = client.get(url).get_data(as_text=True)
    assert "data-empty-state" in html and text in html


def test_an_empty_list_offers_the_next_step_in_english(client, login_as):
    login_as(Role.ORGANIZER)
    client.post("/language", data={"language": "en"})
    html = client.get("/sessions/").get_data(as_text=True)
    assert 'Press "New session" to add the first one.' in html
    assert 'href="/sessions/new"' in html
