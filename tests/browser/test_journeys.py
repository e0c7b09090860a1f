"""Each kind of user's day, in a real browser: a trainee on a 375 px phone, a lecturer and an
organizer. Screenshots are kept in the folder the run prints."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.once  # one browser run (the SQLite pass) is enough


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#submit")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


def _shot(page, shots, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def test_trainee_on_a_phone(browser, live, shots):
    base = live["url"]
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, base, "trainee", "Trainee@2026")

    page.goto(f"{base}/me/timetable")
    expect(page.get_by_text("2026年第11期").first).to_be_visible()
    _shot(page, shots, "trainee-timetable-375")

    # Sign in to the running lesson by the QR code's URL.
    with live["app"].app_context():
        from lms.attendance.services import sign_in_token
        from lms.extensions import db
        from lms.sessions.models import Lesson

        token = sign_in_token(db.session.get(Lesson, live["lesson_id"]))
    page.goto(f"{base}/attendance/scan/{token}")
    page.get_by_role("button", name=re.compile("确认签到")).click()
    expect(page.get_by_text("签到成功")).to_be_visible()
    _shot(page, shots, "trainee-signed-in-375")

    # A quiz: answer, see it saved, reload and find it again, then submit and review.
    page.goto(f"{base}/quizzes/1")
    page.get_by_role("button", name="开始作答").click()
    page.wait_for_url(re.compile(r"/quizzes/attempts/\d+"))
    attempt_url = page.url.split("?")[0]
    blank = page.locator("input[name=blank]")
    if blank.count():
        blank.first.fill("共产主义")
        blank.first.blur()
    else:
        page.locator("input[name=choice]").first.check()
    expect(page.locator("#save-status")).to_contain_text("已保存")
    page.reload()
    if blank.count():
        expect(page.locator("input[name=blank]").first).to_have_value("共产主义")
    else:
        expect(page.locator("input[name=choice]:checked")).to_have_count(1)
    _shot(page, shots, "trainee-quiz-375")
    page.goto(f"{attempt_url}?q=20")
    page.get_by_role("button", name="交卷", exact=True).click()
    page.wait_for_url(re.compile(r"/result$"))
    expect(page.get_by_text("解析：").first).to_be_visible()
    _shot(page, shots, "trainee-review-375")

    # The certificate of the finished session.
    page.goto(f"{base}/certificates/mine")
    link = page.get_by_role("link", name="下载 PDF").first
    expect(link).to_be_visible()
    response = context.request.get(base + link.get_attribute("href"))
    assert response.status == 200 and response.body()[:5] == b"%PDF-"
    assert not errors, errors
    context.close()


def test_lecturer_uploads_and_sees_attendance(browser, live, shots, tmp_path):
    from tests import samples

    base = live["url"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _login(page, base, "lecturer2", "Lecturer2@2026")
    page.goto(f"{base}/sessions/lessons/{live['lesson_id']}")
    page.get_by_role("link", name="上传资料").click()
    document = tmp_path / "党章学习讲义.pdf"
    document.write_bytes(samples.pdf())
    page.set_input_files("input[name=file]", str(document))
    page.get_by_role("button", name="上传").click()
    expect(page.get_by_text("已上传")).to_be_visible()
    expect(page.get_by_role("link", name="党章学习讲义.pdf")).to_be_visible()
    _shot(page, shots, "lecturer-materials")
    page.goto(f"{base}/attendance/sessions/{live['session_id']}")
    expect(page.get_by_role("heading", name="考勤")).to_be_visible()
    _shot(page, shots, "lecturer-attendance")
    context.close()


def test_organizer_runs_the_rotation(browser, live, shots, tmp_path):
    base = live["url"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _login(page, base, "organizer", "Organizer@2026")

    roster = tmp_path / "名册.csv"
    roster.write_text(
        "工号,姓名,性别,部门,党支部,班组,类别,入党日期\n"
        "900001,王𠮷祥,男,发电一部,发电一部第一党支部,一值,党员,2015-07-01\n",
        encoding="utf-8-sig",
    )
    page.goto(f"{base}/members/import")
    page.set_input_files("input[type=file]", str(roster))
    page.click("#submit")
    expect(page.get_by_text("导入完成：新增 1 人")).to_be_visible()
    _shot(page, shots, "organizer-import")

    page.goto(f"{base}/rotation/cycles/1")
    page.get_by_role("button", name="为未安排的人生成方案").click()
    expect(page.get_by_text("已生成方案")).to_be_visible()
    _shot(page, shots, "organizer-plan")

    page.goto(f"{base}/attendance/sessions/{live['session_id']}")
    page.locator("select[name^=a-]").first.select_option("present")
    page.get_by_role("button", name="保存考勤").click()
    expect(page.get_by_text("已保存")).to_be_visible()

    page.goto(f"{base}/certificates/sessions/{live['session_id']}")
    page.get_by_role("button", name=re.compile("颁发")).click()
    page.wait_for_url(re.compile(r"/certificates/jobs/\d+"))
    expect(page.get_by_text("完成：新颁发 1 份")).to_be_visible(timeout=30_000)
    _shot(page, shots, "organizer-certificates")

    page.goto(f"{base}/reports/cycles/1")
    expect(page.locator("svg.chart").first).to_be_visible()
    _shot(page, shots, "organizer-dashboard")
    context.close()


def test_organizer_finds_a_member_by_name_on_a_phone(browser, live, shots):
    """In a 工号 field (学时认定) the organizer types part of a name and picks the member; the
    工号 is filled in and the credit is recorded for that member."""
    base = live["url"]
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, base, "organizer", "Organizer@2026")

    page.goto(f"{base}/attendance/hours")
    field = page.locator("#staff_no")
    field.press_sequentially("国卫")
    option = page.locator("#staff_no-matches [data-staff-no='100001']")
    expect(option).to_be_visible()
    expect(option).to_contain_text("付国卫")
    _shot(page, shots, "organizer-member-picker-375")
    option.click()
    expect(field).to_have_value("100001")
    expect(page.locator("#staff_no-matches")).to_be_hidden()
    page.fill("#hours", "1.5")
    page.fill("#reason", "参加上级党校专题培训")
    page.get_by_role("button", name="认定学时").click()
    expect(page.get_by_text("已为 付国卫 认定 1.5 学时。")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert not errors
    context.close()
