"""The training record (学习档案): page, PDF and a branch's Excel summary."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from pypdf import PdfReader

from lms.attendance.models import Attendance, AttendanceMethod, AttendanceStatus, HoursCredit
from lms.auth.models import Role
from lms.certificates.models import Certificate
from lms.extensions import db
from lms.online.models import ViewingProgress
from lms.quizzes import attempts
from lms.quizzes.models import AttemptStatus
from lms.records import services
from tests.conftest import login
from tests.factories import (
    make_branch,
    make_course,
    make_enrollment,
    make_lesson,
    make_member,
    make_question,
    make_quiz,
    make_secretary,
    make_session,
    make_user,
)
from tests.test_online import make_recording


def _attend(member, lesson, status=AttendanceStatus.PRESENT):
    db.session.add(
        Attendance(
            member_id=member.id, lesson_id=lesson.id, status=status, method=AttendanceMethod.MANUAL
        )
    )
    db.session.flush()


def _credit(member, hours: str, day: date, reason="党员冬训"):
    approver = make_user(roles={Role.ORGANIZER})
    db.session.add(
        HoursCredit(
            member_id=member.id,
            hours=Decimal(hours),
            reason=reason,
            credited_on=day,
            approved_by_id=approver.id,
        )
    )
    db.session.flush()


def _certificate(member, session, serial="DX-2026-0007"):
    item = Certificate(
        serial=serial,
        member_id=member.id,
        session_id=session.id,
        name=member.name,
        hours=Decimal("4.5"),
        issued_on=date(2026, 11, 28),
        signatory="校长",
        verify_token=f"token-{serial}",
        pdf_sha256="0" * 64,
    )
    db.session.add(item)
    db.session.flush()
    return item


@pytest.fixture
def trained():
    """A member of 2026 with 4.5 concentrated hours (3 + 1.5, one lesson missed), 2 credited,
    0.5 online,
    a passed quiz (1 of 1) and a certificate; and a lesson of 2025 that must not count."""
    branch = make_branch()
    member = make_member(name="王𠮷祥", branch=branch)
    session = make_session(title="2026年第11期", start=date(2026, 11, 26))
    lessons = [
        make_lesson(session=session, course=make_course(hours="3")),
        make_lesson(
            session=session,
            course=make_course(hours="1.5"),
            day=date(2026, 11, 27),
            start=time(14),
            end=time(16),
        ),
        make_lesson(
            session=session,
            course=make_course(hours="2"),
            day=date(2026, 11, 27),
            start=time(16),
            end=time(17),
        ),
    ]
    make_enrollment(session, member)
    _attend(member, lessons[0])
    _attend(member, lessons[1], AttendanceStatus.LATE)
    _attend(member, lessons[2], AttendanceStatus.ABSENT)
    old = make_session(title="2025年第3期", start=date(2025, 3, 6))
    old_lesson = make_lesson(session=old, course=make_course(hours="8"))
    make_enrollment(old, member)
    _attend(member, old_lesson)
    _credit(member, "2", date(2026, 3, 1))
    _credit(member, "5", date(2025, 12, 31))
    quiz = make_quiz([make_question()], session=session, title="党章党规测试")
    attempt = attempts.start_attempt(quiz, member, now=datetime(2026, 11, 27, 8, tzinfo=UTC))
    attempts.save_answer(attempt, 1, {"choices": [1]}, now=datetime(2026, 11, 27, 8, 5, tzinfo=UTC))
    attempts.finish_attempt(
        attempt, AttemptStatus.SUBMITTED, now=datetime(2026, 11, 27, 8, 6, tzinfo=UTC)
    )
    _certificate(member, session)
    progress = ViewingProgress(
        member_id=member.id,
        recording_id=make_recording(seconds=1200, title="廉政微课").id,
        credited_at=datetime(2026, 5, 4, 2, tzinfo=UTC),
        credited_hours=Decimal("0.5"),
    )
    db.session.add(progress)
    db.session.flush()
    return member, session


def test_the_record_adds_up_one_year(trained):
    member, _session = trained
    record = services.training_record(member, 2026)
    assert record.concentrated_hours == Decimal("4.5")
    assert record.credited_hours == Decimal("2")
    assert record.online_hours == Decimal("0.5")
    assert record.total_hours == Decimal("7.0")
    assert record.target == 32 and not record.target_met
    [line] = record.sessions
    assert (line.session.title, line.lessons_attended, line.lessons_total, line.hours) == (
        "2026年第11期",
        2,
        3,
        Decimal("4.5"),
    )
    [quiz] = record.quizzes
    assert (quiz.title, quiz.percent, quiz.passed) == ("党章党规测试", Decimal("100.0"), True)
    assert [c.serial for c in record.certificates] == ["DX-2026-0007"]
    earlier = services.training_record(member, 2025)
    assert earlier.concentrated_hours == Decimal(8) and earlier.credited_hours == Decimal(5)
    assert not earlier.quizzes and not earlier.certificates


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("zh_CN", ["2026 年学习档案", "集中学时", "认定学时", "2026年第11期"]),
        ("en", ["Training record 2026", "Concentrated hours", "Credit hours", "2026年第11期"]),
    ],
)
def test_the_record_page_shows_the_year_in_the_users_language(client, trained, language, texts):
    member, _session = trained
    login(client, make_user(member=member))
    accept = "en" if language == "en" else "zh-CN"
    page = client.get(
        f"/records/members/{member.id}?year=2026", headers={"Accept-Language": accept}
    ).get_data(as_text=True)
    for text in texts:
        assert text in page
    assert ">7<" in page and ">4.5<" in page and ">0.5<" in page and "DX-2026-0007" in page
    assert "廉政微课" in page
    assert "2025年第3期" not in page


def test_the_record_pdf_states_the_hours_exactly_in_a_chinese_serif_face(client, trained):
    member, _session = trained
    login(client, make_user(roles={Role.ORGANIZER}))
    response = client.get(f"/records/members/{member.id}/record.pdf?year=2026")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "record-" in response.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.data))
    text = "".join(page.extract_text() for page in reader.pages)
    for expected in ("学习档案", member.staff_no, "4.5", "0.5", "DX-2026-0007", "党章党规测试"):
        assert expected in text
    assert "王𠮷祥" in text
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("Noto-Serif-CJK" in name for name in fonts), fonts


@pytest.mark.parametrize("year", ["1999", "2101"])
def test_years_out_of_range_are_not_found(client, trained, year):
    member, _session = trained
    login(client, make_user(member=member))
    assert client.get(f"/records/members/{member.id}?year={year}").status_code == 404
    assert client.get(f"/records/members/{member.id}/record.pdf?year={year}").status_code == 404


def test_a_branch_summary_is_one_row_per_active_member_with_numbers_as_numbers(client, trained):
    member, _session = trained
    secretary = make_secretary(member.branch)
    make_member(name="停用者", branch=member.branch, active=False)
    make_member(name="别的支部", branch=make_branch())
    login(client, secretary)
    response = client.get(f"/records/branches/{member.branch_id}/records.xlsx?year=2026")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    names = [row[1] for row in body]
    assert "王𠮷祥" in names and "停用者" not in names and "别的支部" not in names
    row = dict(zip(header, body[names.index("王𠮷祥")], strict=True))
    assert row["集中学时"] == 4.5 and row["认定学时"] == 2 and row["线上学时"] == 0.5
    assert row["合计学时"] == 7
    assert (row["参训期次"], row["出勤课次"], row["测试次数"], row["结业证书"]) == (1, 2, 1, 1)
    assert row["最高得分率（百分制）"] == 100 and row["是否达标"] == "否"


def _statements(action) -> int:
    statements = []
    engine = db.engine
    listener = lambda *_args: statements.append(1)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    return len(statements)


def test_a_branch_summary_takes_the_same_queries_for_any_number_of_members(trained):
    member, session = trained
    branch = member.branch
    few = _statements(lambda: services.branch_summary(branch, 2026))
    for _ in range(20):
        other = make_member(branch=branch)
        make_enrollment(session, other)
        _attend(other, session.lessons[0])
    db.session.expire_all()
    many = _statements(lambda: services.branch_summary(branch, 2026))
    assert len(services.branch_summary(branch, 2026)) == 21
    assert many <= few + 1  # the targets' setting may be read once more, never per member
