"""Each role's daily work (issue 16), for lecturers and branch secretaries: the lecturer's
我的课次 on the home page (lessons, materials, sign-in figures, one tap to the QR screen, the
sign-in sheet and the materials), the question-bank page that says who grants banks, and the
secretary's 本支部学员 list and member page (sessions, rotation plan, hours, certificates)."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from decimal import Decimal
from html import unescape

import pytest
import sqlalchemy as sa

from lms.auth.models import Role
from lms.certificates.models import Certificate
from lms.clock import local_today
from lms.database import utcnow
from lms.extensions import db
from lms.rotation.models import Cohort, CohortMember
from lms.sessions.models import EnrollmentStatus, SessionStatus
from tests.conftest import login
from tests.factories import (
    make_attendance,
    make_bank,
    make_branch,
    make_course,
    make_cycle,
    make_enrollment,
    make_lesson,
    make_material,
    make_member,
    make_secretary,
    make_session,
    make_user,
)


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return unescape(response.get_data(as_text=True))


def _card(page: str, lesson_id: int) -> str:
    """The HTML of one lesson's card on 我的课次."""
    found = re.search(
        rf'<div class="card h-100 taught-lesson" data-lesson="{lesson_id}">'
        r"(.*?)</div>\s*</div>\s*</div>",
        page,
        re.S,
    )
    assert found, f"no card for lesson {lesson_id}"
    return found.group(1)


# --- the lecturer's 我的课次 -------------------------------------------------------------------


@pytest.fixture
def teaching():
    """A lecturer with a lesson in three days (two materials, 3 enrolled) and one ten days ago
    (2 of 3 signed in), plus another lecturer's lesson and a lesson of a cancelled session."""
    lecturer = make_user(roles={Role.LECTURER}, username="li-lecturer")
    today = local_today()
    soon = make_session(start=today + timedelta(days=3), venue="党校一楼")
    past = make_session(start=today - timedelta(days=10), status=SessionStatus.IN_PROGRESS)
    members = [make_member() for _ in range(3)]
    for member in members:
        make_enrollment(soon, member)
        make_enrollment(past, member)
    upcoming = make_lesson(
        session=soon,
        course=make_course(title="党章党规专题"),
        lecturer=lecturer,
        start=time(8, 30),
        end=time(10),
        room="第一教室",
    )
    make_material(uploader=lecturer, lesson=upcoming, name="党章.pdf")
    make_material(uploader=lecturer, lesson=upcoming, name="条例.pdf")
    taught = make_lesson(
        session=past,
        course=make_course(title="廉政教育"),
        lecturer=lecturer,
        start=time(14),
        end=time(15, 30),
    )
    make_attendance(members[0], taught)
    make_attendance(members[1], taught, "late")
    make_attendance(members[2], taught, "absent")
    unrecorded = make_lesson(
        session=past, course=make_course(title="形势任务"), lecturer=lecturer, start=time(8)
    )
    someone_elses = make_lesson(session=soon, course=make_course(title="别人的课"))
    cancelled = make_session(start=today + timedelta(days=5), status=SessionStatus.CANCELLED)
    dropped = make_lesson(
        session=cancelled, course=make_course(title="取消的课"), lecturer=lecturer
    )
    return {
        "lecturer": lecturer,
        "upcoming": upcoming,
        "taught": taught,
        "unrecorded": unrecorded,
        "someone_elses": someone_elses,
        "dropped": dropped,
    }


def test_the_lecturer_home_lists_upcoming_then_past_lessons_with_their_figures(client, teaching):
    login(client, teaching["lecturer"])
    page = _text(client.get("/"))
    assert "我的课次" in page
    assert page.index("党章党规专题") < page.index("廉政教育")  # upcoming before past
    assert "别人的课" not in page and "取消的课" not in page

    soon = _card(page, teaching["upcoming"].id)
    assert "资料 2 份" in soon and "参训 3 人" in soon
    assert "第一教室" in soon and "党校一楼" in soon and "08:30–10:00" in soon
    assert f'href="/attendance/lessons/{teaching["upcoming"].id}/qr"' in soon
    assert f'href="/attendance/sessions/{teaching["upcoming"].session_id}"' in soon
    assert f'href="/sessions/lessons/{teaching["upcoming"].id}#materials"' in soon

    taught = _card(page, teaching["taught"].id)
    assert "已签到 2/3" in taught and "资料 0 份" in taught
    assert "/qr" not in taught  # the lesson is over: no QR screen to show
    assert f'href="/attendance/sessions/{teaching["taught"].session_id}"' in taught
    assert "签到未记录" in _card(page, teaching["unrecorded"].id)


def test_the_cards_links_open_for_the_lecturer(client, teaching):
    login(client, teaching["lecturer"])
    lesson = teaching["upcoming"]
    assert client.get(f"/attendance/lessons/{lesson.id}/qr").status_code == 200
    assert client.get(f"/attendance/sessions/{lesson.session_id}").status_code == 200
    page = _text(client.get(f"/sessions/lessons/{lesson.id}"))
    assert 'id="materials"' in page and "党章" in page


def test_the_lecturer_home_takes_the_same_queries_for_any_number_of_lessons(client, app, teaching):
    login(client, teaching["lecturer"])

    def queries() -> int:
        statements = []
        listener = lambda *_args: statements.append(1)  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/").status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    few = queries()
    session = teaching["upcoming"].session
    for hour in range(11, 15):
        lesson = make_lesson(
            session=session, lecturer=teaching["lecturer"], start=time(hour), end=time(hour, 50)
        )
        make_material(uploader=teaching["lecturer"], lesson=lesson)
    assert queries() == few


def test_more_lessons_than_the_home_shows_lead_to_the_full_list(client, teaching):
    lecturer = teaching["lecturer"]
    login(client, lecturer)
    past = teaching["taught"].session
    for n in range(6):
        make_lesson(
            session=past,
            course=make_course(title=f"往期课{n}"),
            lecturer=lecturer,
            day=past.start_date + timedelta(days=1),
            start=time(7 + n),
            end=time(7 + n, 50),
        )
    page = _text(client.get("/"))
    assert "更早的课次（共 8 个）" in page
    assert len(re.findall(r'class="card h-100 taught-lesson"', page)) == 1 + 5
    full = _text(client.get("/me/lessons?when=past"))
    assert all(f"往期课{n}" in full for n in range(6)) and "廉政教育" in full
    assert "党章党规专题" not in full
    upcoming = _text(client.get("/me/lessons"))
    assert "党章党规专题" in upcoming and "廉政教育" not in upcoming


def test_a_lecturer_without_lessons_is_told_who_schedules_them(client, login_as):
    login_as(Role.LECTURER)
    page = _text(client.get("/"))
    assert "您近期没有要讲的课" in page and "联系组织者" in page


def test_other_roles_see_no_lessons_section(client, login_as):
    login_as(Role.TRAINEE)
    assert "我的课次" not in _text(client.get("/"))
    assert client.get("/me/lessons").status_code == 403


def test_the_lecturer_home_in_english(client, teaching):
    login(client, teaching["lecturer"])
    page = _text(client.get("/", headers={"Accept-Language": "en"}))
    assert "My lessons" in page and "Materials: 2" in page and "Signed in 2/3" in page


# --- question banks ---------------------------------------------------------------------------


def test_a_lecturer_without_banks_is_told_the_organizers_grant_them(client, login_as):
    make_user(roles={Role.ORGANIZER}).display_name = "组织者张三"
    make_user(roles={Role.ORGANIZER}, active=False).display_name = "停用的组织者"
    login_as(Role.LECTURER)
    page = _text(client.get("/quizzes/banks/"))
    assert "题库由组织者建立" in page
    assert "组织者张三" in page and "停用的组织者" not in page


def test_a_lecturer_with_a_bank_sees_it_and_no_explanation(client, login_as):
    lecturer = login_as(Role.LECTURER)
    make_bank(name="党章题库", authors=[lecturer])
    page = _text(client.get("/quizzes/banks/"))
    assert "党章题库" in page and "题库由组织者建立" not in page


# --- the branch secretary ---------------------------------------------------------------------


def test_the_secretary_list_is_titled_as_in_the_menu(client):
    branch = make_branch()
    login(client, make_secretary(branch))
    page = _text(client.get("/members/"))
    assert "<title>本支部学员" in page
    assert re.search(r"<h1[^>]*>本支部学员</h1>", page)
    assert "学员名册" not in page


def test_the_organizer_list_keeps_its_name(client, organizer):
    page = _text(client.get("/members/"))
    assert "<title>学员名册" in page and re.search(r"<h1[^>]*>学员名册</h1>", page)


@pytest.fixture
def branch_member():
    """A member of a secretary's branch: two sessions, a confirmed cohort in a cycle, hours
    this year and a certificate."""
    branch = make_branch()
    secretary = make_secretary(branch)
    member = make_member(branch=branch, name="赵堃")
    year = local_today().year
    done = make_session(title="往期示范班", start=date(year, 1, 10))
    lesson = make_lesson(session=done, course=make_course(hours="3.5"))
    enrollment = make_enrollment(done, member)
    enrollment.status = EnrollmentStatus.COMPLETED
    make_attendance(member, lesson)
    upcoming = make_session(title="下期专题班", start=local_today() + timedelta(days=20))
    make_enrollment(upcoming, member)
    cycle = make_cycle(name="年度全员轮训", start=date(year, 1, 1), end=date(year, 12, 31))
    cohort = Cohort(cycle_id=cycle.id, session_id=upcoming.id, confirmed_at=utcnow())
    db.session.add(cohort)
    db.session.flush()
    db.session.add(CohortMember(cohort_id=cohort.id, cycle_id=cycle.id, member_id=member.id))
    db.session.add(
        Certificate(
            serial="DX-0001",
            member_id=member.id,
            session_id=done.id,
            name=member.name,
            hours=Decimal("3.5"),
            issued_on=date(year, 1, 12),
            signatory="校长",
            verify_token="member-page-token",
            pdf_sha256="0" * 64,
        )
    )
    db.session.flush()
    from lms.attendance.services import refresh_totals

    refresh_totals({member.id}, {done.id})
    return {"secretary": secretary, "member": member}


def test_a_members_page_shows_sessions_plan_hours_and_certificates(client, branch_member):
    login(client, branch_member["secretary"])
    member = branch_member["member"]
    page = _text(client.get(f"/members/{member.id}"))
    sessions = page[page.index("member-sessions") :]
    assert sessions.index("下期专题班") < sessions.index("往期示范班")  # latest first
    assert "已结业" in sessions and "已通知" in sessions
    assert "出勤 1 / 1 课次" in sessions
    plans = page[page.index("member-plans") :]
    assert "年度全员轮训" in plans and "已安排" in plans and "批次：下期专题班" in plans
    hours = page[page.index("member-hours") :]
    assert re.search(r'member-hours-total">3.5<', hours) and "目标 32 学时" in hours
    assert "未达标" in hours
    certificates = page[page.index("member-certificates") :]
    assert "DX-0001" in certificates and "往期示范班" in certificates and "有效" in certificates
    assert ">本支部学员</a>" in page  # the way back is named as in the menu


def test_a_secretary_cannot_open_a_member_of_another_branch(client, branch_member):
    login(client, branch_member["secretary"])
    stranger = make_member(branch=make_branch())
    assert client.get(f"/members/{stranger.id}").status_code == 403
    assert client.get(f"/members/{branch_member['member'].id}").status_code == 200


def test_an_organizer_sees_any_members_page(client, organizer, branch_member):
    page = _text(client.get(f"/members/{branch_member['member'].id}"))
    assert "年度全员轮训" in page and "DX-0001" in page and ">学员名册</a>" in page


def test_a_member_outside_every_cycle_says_so(client, organizer):
    member = make_member()
    page = _text(client.get(f"/members/{member.id}"))
    assert "还没有被调训参加任何期次" in page and "还没有结业证书" in page
