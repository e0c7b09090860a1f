"""Signing in: rotating QR tokens (old, forged, another lesson, another account's phone), the
grid, the Excel sheet and import, and the hours ledger."""

from __future__ import annotations

import io
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa

from lms.attendance import hours, services
from lms.attendance.models import Attendance, AttendanceMethod, AttendanceStatus
from lms.audit.models import AuditLog
from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import login
from tests.factories import (
    make_course,
    make_enrollment,
    make_lesson,
    make_member,
    make_session,
    make_user,
)


@pytest.fixture
def lesson():
    now = datetime.now(UTC)
    session = make_session(start=date(2026, 11, 26))
    lesson = make_lesson(session=session)
    lesson.starts_at = now - timedelta(minutes=5)  # running now
    lesson.ends_at = now + timedelta(minutes=85)
    db.session.flush()
    return lesson


@pytest.fixture
def trainee(lesson):
    member = make_member()
    make_enrollment(lesson.session, member)
    return make_user(roles={Role.TRAINEE}, member=member)


def _scan(client, token):
    return client.get(f"/attendance/scan/{token}")


def _confirm(client):
    return client.post("/attendance/scan")


def test_scanning_the_current_code_signs_in_present(client, lesson, trainee):
    login(client, trainee)
    assert _scan(client, services.sign_in_token(lesson)).status_code == 302
    page = client.get("/attendance/scan").get_data(as_text=True)
    assert "确认签到" in page
    html = _confirm(client).get_data(as_text=True)
    assert "签到成功" in html
    attendance = db.session.scalar(sa.select(Attendance))
    assert attendance.status is AttendanceStatus.PRESENT
    assert attendance.method is AttendanceMethod.QR and attendance.device


def test_signing_in_after_the_grace_is_late(client, lesson, trainee):
    lesson.starts_at = datetime.now(UTC) - timedelta(minutes=25)
    db.session.flush()
    login(client, trainee)
    _scan(client, services.sign_in_token(lesson))
    _confirm(client)
    assert db.session.scalar(sa.select(Attendance.status)) is AttendanceStatus.LATE


def test_anonymous_scan_signs_in_after_login(client, lesson, trainee):
    response = _scan(client, services.sign_in_token(lesson))
    assert response.status_code == 302 and "/login" in response.location
    login(client, trainee)
    _confirm(client)
    assert db.session.scalar(sa.select(Attendance.member_id)) == trainee.member_id


@pytest.mark.parametrize("age_windows", [2, 5, 1000])
def test_an_old_code_is_refused(client, lesson, trainee, age_windows):
    token = services.sign_in_token(lesson, services.current_window() - age_windows)
    login(client, trainee)
    response = _scan(client, token)
    assert response.status_code == 400
    assert "签到码已过期" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Attendance.id))) == 0


def test_the_previous_window_is_still_accepted(lesson):
    token = services.sign_in_token(lesson, services.current_window() - 1)
    assert services.lesson_from_token(token) == lesson


@pytest.mark.parametrize(
    "token",
    ["garbage", "WzEsMl0.forged-signature", "", "a" * 500],
)
def test_a_forged_code_is_refused(client, lesson, trainee, token):
    login(client, trainee)
    response = (
        client.get(f"/attendance/scan/{token}") if token else client.get("/attendance/scan/x")
    )
    assert response.status_code == 400
    assert "签到码无效" in response.get_data(as_text=True)


def test_a_code_signed_with_another_key_is_refused(app, lesson):
    from itsdangerous import URLSafeSerializer

    forged = URLSafeSerializer("not-the-key", salt="lesson-sign-in").dumps(
        [lesson.id, services.current_window()]
    )
    with pytest.raises(services.SignInRefused, match="签到码无效"):
        services.lesson_from_token(forged)


def test_a_code_is_for_its_own_lesson_only(client, lesson, trainee):
    other = make_lesson()  # another session: the trainee is not enrolled there
    login(client, trainee)
    _scan(client, services.sign_in_token(other))
    html = _confirm(client).get_data(as_text=True)
    assert "不在本期培训的参训名单中" in html
    assert db.session.scalar(sa.select(sa.func.count(Attendance.id))) == 0


def test_one_phone_cannot_sign_in_for_another_account(client, lesson, trainee):
    friend_member = make_member()
    make_enrollment(lesson.session, friend_member)
    friend = make_user(roles={Role.TRAINEE}, member=friend_member)
    login(client, trainee)
    token = services.sign_in_token(lesson)
    _scan(client, token)
    _confirm(client)  # the phone now carries its device cookie
    login(client, friend)
    _scan(client, token)
    html = _confirm(client).get_data(as_text=True)
    assert "这部手机已经为其他人签到过本节课" in html
    assert db.session.scalars(sa.select(Attendance.member_id)).all() == [trainee.member_id]


def test_scanning_twice_changes_nothing(client, lesson, trainee):
    login(client, trainee)
    for _ in range(2):
        _scan(client, services.sign_in_token(lesson))
        _confirm(client)
    assert db.session.scalar(sa.select(sa.func.count(Attendance.id))) == 1


def test_confirm_without_a_scan_says_so(client, trainee):
    login(client, trainee)
    response = client.get("/attendance/scan")
    assert response.status_code == 400 and "没有待确认的签到" in response.get_data(as_text=True)


def test_a_scan_expires_after_ten_minutes(client, lesson, trainee):
    login(client, trainee)
    _scan(client, services.sign_in_token(lesson))
    with client.session_transaction() as session:
        session["pending_sign_in"] = {**session["pending_sign_in"], "at": time.time() - 601}
    response = _confirm(client)
    assert response.status_code == 400


def test_qr_screen_shows_a_code_and_the_count(client, lesson, trainee):
    lecturer = make_user(roles={Role.LECTURER})
    lesson.lecturer = lecturer
    db.session.flush()
    login(client, lecturer)
    html = client.get(f"/attendance/lessons/{lesson.id}/qr").get_data(as_text=True)
    assert "<svg" in html and 'http-equiv="refresh"' in html and "0 / 1" in html
    login(client, make_user(roles={Role.LECTURER}))
    assert client.get(f"/attendance/lessons/{lesson.id}/qr").status_code == 403


def test_grid_saves_changes_and_audits(client, lesson, trainee):
    login(client, make_user(roles={Role.ORGANIZER}))
    key = f"a-{trainee.member_id}-{lesson.id}"
    response = client.post(f"/attendance/sessions/{lesson.session_id}", data={key: "absent"})
    assert response.status_code == 302
    cell = db.session.scalar(sa.select(Attendance))
    assert cell.status is AttendanceStatus.ABSENT and cell.method is AttendanceMethod.MANUAL
    assert db.session.scalar(sa.select(AuditLog.action)) == "attendance.changed"
    # The grid offers every status by its label, with the saved one selected.
    html = client.get(f"/attendance/sessions/{lesson.session_id}").get_data(as_text=True)
    assert '<option value="absent" selected>缺勤</option>' in html
    assert '<option value="late" >迟到</option>' in html
    assert (
        client.post(f"/attendance/sessions/{lesson.session_id}", data={key: "bogus"}).status_code
        == 400
    )
    client.post(f"/attendance/sessions/{lesson.session_id}", data={key: ""})
    assert db.session.scalar(sa.select(sa.func.count(Attendance.id))) == 0


def _export(client, lesson) -> openpyxl.Workbook:
    data = client.get(f"/attendance/sessions/{lesson.session_id}/export.xlsx").data
    return openpyxl.load_workbook(io.BytesIO(data))


def _upload(client, lesson, workbook):
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    return client.post(
        f"/attendance/sessions/{lesson.session_id}/import",
        data={"file": (out, "考勤.xlsx")},
        content_type="multipart/form-data",
    )


def test_import_is_all_or_nothing(client, lesson, trainee):
    login(client, make_user(roles={Role.ORGANIZER}))
    workbook = _export(client, lesson)
    sheet = workbook.active
    sheet.cell(row=2, column=3, value="迟到")
    sheet.append(["999999", "无名", "出勤"])
    html = _upload(client, lesson, workbook).get_data(as_text=True)
    assert "第 3 行：工号 999999 不在本期参训名单中" in html
    assert db.session.scalar(sa.select(sa.func.count(Attendance.id))) == 0

    sheet.delete_rows(3)
    sheet.cell(row=2, column=3, value="睡觉")
    html = _upload(client, lesson, workbook).get_data(as_text=True)
    assert "“睡觉”不是出勤、迟到、早退、缺勤或请假" in html
    assert db.session.scalar(sa.select(sa.func.count(Attendance.id))) == 0

    sheet.cell(row=2, column=3, value="迟到")
    assert "已导入" in _upload(client, lesson, workbook).get_data(as_text=True)
    cell = db.session.scalar(sa.select(Attendance))
    assert cell.status is AttendanceStatus.LATE and cell.method is AttendanceMethod.IMPORT
    # Export → import again changes nothing.
    assert "0 处考勤有变化" in _upload(client, lesson, _export(client, lesson)).get_data(
        as_text=True
    )


def test_import_refuses_a_file_that_is_not_excel(client, lesson, trainee):
    login(client, make_user(roles={Role.ORGANIZER}))
    response = client.post(
        f"/attendance/sessions/{lesson.session_id}/import",
        data={"file": (io.BytesIO(b"not a workbook"), "x.xlsx")},
        content_type="multipart/form-data",
    )
    assert "无法读取该 Excel 文件" in response.get_data(as_text=True)


def test_import_reads_a_bounded_number_of_rows_and_quotes_cells_short(
    client, app, lesson, trainee, monkeypatch
):
    login(client, make_user(roles={Role.ORGANIZER}))
    workbook = _export(client, lesson)
    sheet = workbook.active
    sheet.cell(row=2, column=3, value="睡" * 100_000)
    html = _upload(client, lesson, workbook).get_data(as_text=True)
    assert "“" + "睡" * 50 + "…”不是出勤" in html and "睡" * 51 not in html
    # Rows declared far out to the right and empty ones count against the limit.
    sheet.cell(row=2, column=3, value="出勤")
    for number in range(3, 30):
        sheet.cell(row=number, column=16384, value=" ")
    monkeypatch.setitem(app.config, "ROSTER_MAX_ROWS", 10)
    html = _upload(client, lesson, workbook).get_data(as_text=True)
    assert "文件超过 10 行（空行也计算在内）" in html
    assert db.session.scalar(sa.select(sa.func.count(Attendance.id))) == 0


def test_sign_in_sheet_lists_the_enrolled(client, lesson, trainee):
    login(client, make_user(roles={Role.ORGANIZER}))
    data = client.get(f"/attendance/sessions/{lesson.session_id}/sheet.xlsx").data
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows[1][1] == trainee.member.staff_no and "签名" in rows[0][4]


def test_hours_ledger_counts_attended_lessons_and_credits(lesson, trainee):
    organizer = make_user(roles={Role.ORGANIZER})
    course = make_course(hours="1.5")
    other = make_lesson(session=lesson.session, course=course)
    missed = make_lesson(session=lesson.session, course=make_course(hours="3"))
    for target, status in ((lesson, "present"), (other, "late"), (missed, "absent")):
        db.session.add(
            Attendance(
                member_id=trainee.member_id,
                lesson_id=target.id,
                status=AttendanceStatus(status),
                method=AttendanceMethod.MANUAL,
            )
        )
    hours.credit_hours(trainee.member, Decimal("4"), "党校外培训", date(2026, 5, 1), organizer)
    ledger = hours.hours_ledger(trainee.member, lesson.local_start.year)
    assert sum(line.hours for line in ledger) == lesson.course.hours + Decimal("1.5") + 4


@pytest.mark.parametrize(
    ("category", "role", "expected"),
    [
        ("member", None, 32),
        # A middle-level cadre as such has the category's target: the plan's 56 is for the
        # secretaries and committee members of grassroots organisations.
        ("cadre", None, 32),
        ("probationary", "secretary", 56),
        ("member", "committee", 56),
        ("cadre", "committee", 56),
    ],
)
def test_annual_targets(category, role, expected):
    from lms.org.models import Category
    from tests.factories import make_secretary

    member = make_secretary().member if role == "secretary" else make_member()
    member.category = Category(category)
    member.committee_member = role == "committee"
    assert hours.annual_target(member) == expected
    hours.save_hours_targets(
        {"categories": {"member": 40, "cadre": 36, "probationary": 30}, "secretary": 60}
    )
    expected_after = 60 if role else {"member": 40, "cadre": 36}[category]
    assert hours.annual_target(member) == expected_after


def test_organizer_credits_hours_and_sees_the_ledger(client, trainee):
    organizer = make_user(roles={Role.ORGANIZER})
    login(client, organizer)
    response = client.post(
        "/attendance/hours",
        data={
            "staff_no": trainee.member.staff_no,
            "hours": "6",
            "reason": "参加上级党校专题培训",
            "credited_on": "2026-06-01",
        },
    )
    assert response.status_code == 302
    html = client.get(f"/attendance/members/{trainee.member_id}/hours?year=2026").get_data(
        as_text=True
    )
    assert "参加上级党校专题培训" in html and "已获 6 / 年度目标 32 学时" in html
    assert db.session.scalar(sa.select(AuditLog.action).where(AuditLog.action == "hours.credited"))
    html = client.post(
        "/attendance/hours",
        data={"staff_no": "nobody", "hours": "6", "reason": "x", "credited_on": "2026-06-01"},
    ).get_data(as_text=True)
    assert "没有这个工号" in html


def test_targets_are_settings(client):
    login(client, make_user(roles={Role.ADMIN}))
    data = {
        f"cat-{c}": "40"
        for c in (
            "cadre",
            "party_worker",
            "member",
            "probationary",
            "activist",
            "league_member",
            "youth",
        )
    }
    page = client.get("/attendance/targets").get_data(as_text=True)
    assert "《中国共产党党员教育管理工作条例》（2019年）第二十条" in page
    assert "《2019—2023年全国党员教育培训工作规划》" in page and "支部委员" in page
    assert client.post("/attendance/targets", data={**data, "secretary": "60"}).status_code == 302
    assert hours.hours_targets()["secretary"] == 60
    bad = client.post("/attendance/targets", data={**data, "cat-member": "-1", "secretary": "60"})
    assert "0 到 500" in bad.get_data(as_text=True)
    assert hours.hours_targets()["categories"]["member"] == 40


@pytest.mark.parametrize("hours", ["1e27", "Infinity", "sNaN", "NaN", "-3", "2.25"])
def test_credited_hours_must_be_a_plain_number(client, trainee, hours):
    from lms.attendance.models import HoursCredit

    login(client, make_user(roles={Role.ORGANIZER}))
    response = client.post(
        "/attendance/hours",
        data={
            "staff_no": trainee.member.staff_no,
            "hours": hours,
            "reason": "参加上级党校专题培训",
            "credited_on": "2026-06-01",
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "有效的数字" in html or "一位小数" in html or "0.5" in html
    assert db.session.scalar(sa.select(sa.func.count(HoursCredit.id))) == 0
