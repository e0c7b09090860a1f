"""Training evaluation in a real browser: the trainee rates the finished demo session on a
375 px phone, in Chinese and in English; the organizer reads the report at 1280 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_journeys import _login, _shot

pytestmark = pytest.mark.once


def _no_wider_than_the_screen(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_trainee_evaluates_on_a_phone_and_organizer_reads_the_report(browser, live, shots):
    base = live["url"]
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="en-US")
    page = context.new_page()
    _login(page, base, "trainee", "Trainee@2026")
    page.get_by_role("link", name=re.compile("Please rate the lessons of 2026年第10期")).click()
    expect(page.get_by_role("button", name="Submit evaluation")).to_be_visible()
    expect(page.get_by_text("Usefulness").first).to_be_visible()
    _no_wider_than_the_screen(page)
    _shot(page, shots, "evaluation-form-en-375")
    context.close()

    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, base, "trainee", "Trainee@2026")
    page.goto(base + "/")
    page.get_by_role("link", name=re.compile("请为2026年第10期的课程打分")).click()
    expect(page.get_by_role("heading", name="教学评估")).to_be_visible()
    _no_wider_than_the_screen(page)
    _shot(page, shots, "evaluation-form-empty-375")
    # Submitting with nothing ticked: refused, every score asked for.
    page.get_by_role("button", name="提交评估").click()
    expect(page.get_by_text("评估未保存")).to_be_visible()
    # Each score a large tap target: tap the labels, as a thumb would.
    groups = page.locator(".score-scale")
    for index in range(groups.count()):
        groups.nth(index).locator("label").nth(4 - index % 2).click()
    box = groups.first.locator("label").first.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    page.fill("#comment", "案例贴近实际，希望多些讨论。")
    _shot(page, shots, "evaluation-form-375")
    page.get_by_role("button", name="提交评估").click()
    expect(page.get_by_text("感谢您的评估")).to_be_visible()
    _shot(page, shots, "evaluation-done-375")
    page.goto(base + "/")
    # (Other sessions may still wait: the journeys sign the trainee in to today's lesson.)
    expect(page.get_by_text(re.compile("请为2026年第10期的课程打分"))).to_have_count(0)
    context.close()
    assert not errors, errors

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _login(page, base, "organizer", "Organizer@2026")
    page.get_by_role("link", name="教学评估").first.click()
    expect(page.locator("svg.chart").first).to_be_visible()
    _shot(page, shots, "evaluation-report-1280")
    page.get_by_role("link", name="2026年第10期").click()
    expect(page.get_by_text("案例贴近实际，希望多些讨论。")).to_be_visible()
    _shot(page, shots, "evaluation-session-report-1280")
    page.set_viewport_size({"width": 375, "height": 800})
    _no_wider_than_the_screen(page)
    _shot(page, shots, "evaluation-session-report-375")
    context.close()

    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="en-US")
    page = context.new_page()
    _login(page, base, "lecturer", "Lecturer@2026")
    page.get_by_role("link", name="My evaluations").click()
    expect(page.get_by_text("To keep trainees anonymous")).to_be_visible()
    _no_wider_than_the_screen(page)
    _shot(page, shots, "evaluation-mine-en-375")
    context.close()
