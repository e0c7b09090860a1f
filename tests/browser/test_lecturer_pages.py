"""The lecturer's 我的课次 on a 375 px phone and at 1280 px, in Chinese and English: the lesson
running now is on the home page with its figures, and one tap opens its QR screen or its
session's sign-in sheet."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_journeys import _login, _shot

pytestmark = pytest.mark.once


@pytest.mark.parametrize("width", [375, 1280])
def test_lecturer_my_lessons(browser, live, shots, width):
    base, lesson_id, session_id = live["url"], live["lesson_id"], live["session_id"]
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, base, "lecturer2", "Lecturer2@2026")
    page.goto(f"{base}/")

    section = page.locator(".my-lessons")
    expect(section.get_by_role("heading", name="我的课次")).to_be_visible()
    card = section.locator(f'.taught-lesson[data-lesson="{lesson_id}"]')
    expect(card).to_contain_text("今日专题班")
    expect(card).to_contain_text("第一教室")
    expect(card).to_contain_text("正在上课")
    expect(card.locator(".taught-lesson-attendance")).to_have_text(
        re.compile(r"已签到 [01]/1")
    )  # the trainee walk may sign in first
    expect(card.locator(".taught-lesson-materials")).to_contain_text("资料 0 份")
    for link in card.get_by_role("link").all()[1:]:  # the buttons, after the course title
        assert link.bounding_box()["height"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    _shot(page, shots, f"lecturer-my-lessons-{width}")

    # One tap to the QR screen, one to the sign-in sheet, one to the materials.
    card.get_by_role("link", name="签到二维码").click()
    page.wait_for_url(re.compile(rf"/attendance/lessons/{lesson_id}/qr$"))
    expect(page.locator("svg").first).to_be_visible()
    page.go_back()
    card.get_by_role("link", name="签到表").click()
    page.wait_for_url(re.compile(rf"/attendance/sessions/{session_id}$"))
    expect(page.get_by_role("link", name="签到表（Excel）")).to_be_visible()
    page.go_back()
    card.get_by_role("link", name="课件资料").click()
    page.wait_for_url(re.compile(rf"/sessions/lessons/{lesson_id}#materials$"))
    expect(page.locator("#materials")).to_be_visible()

    # The same page in English.
    english = browser.new_context(viewport={"width": width, "height": 800}, locale="en-US")
    en_page = english.new_page()
    _login(en_page, base, "lecturer2", "Lecturer2@2026")
    en_page.goto(f"{base}/")
    en_card = en_page.locator(f'.my-lessons .taught-lesson[data-lesson="{lesson_id}"]')
    expect(en_page.get_by_role("heading", name="My lessons")).to_be_visible()
    expect(en_card.locator(".taught-lesson-attendance")).to_have_text(
        re.compile(r"Signed in [01]/1")
    )
    expect(en_card.get_by_role("link", name="Check-in QR code")).to_be_visible()
    assert en_page.evaluate("document.documentElement.scrollWidth") <= width
    _shot(en_page, shots, f"lecturer-my-lessons-{width}-en")
    english.close()

    assert not errors, errors
    context.close()
