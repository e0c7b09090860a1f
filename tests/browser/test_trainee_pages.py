"""The trainee's own pages on a 375 px phone: the wrong-answer book (answer, explanation, source,
practice) and the profile (hours against the target, certificates, change password)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_journeys import _login, _shot

pytestmark = pytest.mark.once


def _a_wrong_answer(app) -> str:
    """The demo trainee answers a question wrongly; returns its stem."""
    import sqlalchemy as sa

    from lms.auth.models import User
    from lms.extensions import db
    from lms.quizzes import attempts
    from lms.quizzes.models import AttemptStatus
    from tests.factories import make_question, make_quiz

    with app.app_context():
        member = db.session.scalar(sa.select(User).where(User.username == "trainee")).member
        question = make_question(
            options=["民主集中制", "个人负责制", "少数服从个人"],
            correct=[0],
            stem="党的根本组织原则是什么？",
            explanation="党章第十条：党是根据自己的纲领和章程，按照民主集中制组织起来的统一整体。",
            source="《中国共产党章程》第十条",
        )
        quiz = make_quiz([question], title="错题本演示测试")
        attempt = attempts.start_attempt(quiz, member)
        attempts.save_answer(attempt, 1, {"choices": [1]})
        attempts.finish_attempt(attempt, AttemptStatus.SUBMITTED)
        db.session.commit()
        return question.current.stem


@pytest.mark.parametrize("width", [375, 1280])
def test_trainee_wrong_book_and_profile(browser, live, shots, width):
    base = live["url"]
    # The phone run records the wrong answer; the desktop run (after it) reads the same book.
    stem = _a_wrong_answer(live["app"]) if width == 375 else "党的根本组织原则是什么？"
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, base, "trainee", "Trainee@2026")

    # 我的课表 is in the navigation (behind the menu button on a phone).
    if page.locator(".navbar-toggler").is_visible():  # collapsed on a phone and below 1400 px
        page.locator(".navbar-toggler").click()
    page.locator("#mainnav").get_by_role("link", name="我的课表").click()
    page.wait_for_url(re.compile(r"/me/timetable$"))

    # The wrong-answer book: the right answer, the explanation and the source, then practice.
    page.goto(f"{base}/quizzes/wrong-book")
    entry = page.locator(".wrong-book-entry", has_text=stem)
    expect(entry.locator(".wrong-book-key")).to_contain_text("正确答案：A")
    expect(entry.locator(".wrong-book-explanation")).to_contain_text("民主集中制组织起来")
    expect(entry.locator(".wrong-book-source")).to_contain_text("《中国共产党章程》第十条")
    expect(entry.get_by_role("link", name="错题本演示测试")).to_be_visible()
    _shot(page, shots, f"trainee-wrong-book-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if width == 375:
        page.locator("#wrong-book-practice").click()
        page.wait_for_url(re.compile(r"/quizzes/attempts/\d+"))
        # Other tests on the shared demo may have put more questions in the book, shuffled.
        take = page.url.split("?")[0]
        count = page.locator(".question-palette .btn").count() or 1
        for position in range(1, count + 1):
            page.goto(f"{take}?q={position}")
            if page.get_by_text(stem).count():
                break
        expect(page.get_by_text(stem)).to_be_visible()

    # The profile, from the user menu: hours against the target, certificates, change password.
    page.goto(f"{base}/")
    if page.locator(".navbar-toggler").is_visible():  # collapsed on a phone and below 1400 px
        page.locator(".navbar-toggler").click()
    page.locator('#mainnav a[href="/me/profile"]').click()
    page.wait_for_url(re.compile(r"/me/profile$"))
    expect(page.locator("#profile-hours")).to_contain_text(
        re.compile(r"已获 [\d.]+ / 年度目标 \d+ 学时")
    )
    expect(
        page.locator("#profile-certificates").get_by_role("link", name="下载 PDF").first
    ).to_be_visible()
    _shot(page, shots, f"trainee-profile-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_role("link", name="修改密码").first.click()
    page.wait_for_url(re.compile(r"/account/password$"))
    expect(page.locator("#current_password")).to_be_visible()

    # The calendar page and the sign-in help, in English too.
    page.goto(f"{base}/me/calendar")
    if width == 375:
        page.get_by_role("button", name="生成订阅地址").click()
    expect(page.locator("#webcal-link")).to_have_attribute("href", re.compile(r"^webcal://"))
    page.get_by_role("button", name="复制").click()
    expect(page.get_by_role("button", name="已复制")).to_be_visible()
    _shot(page, shots, f"trainee-calendar-{width}")
    context.close()
    english = browser.new_context(viewport={"width": width, "height": 800}, locale="en")
    page = english.new_page()
    page.goto(f"{base}/login")
    page.locator("#forgot-password").click()
    page.wait_for_url(re.compile(r"/forgot-password$"))
    _shot(page, shots, f"forgot-password-{width}")
    _login(page, base, "trainee", "Trainee@2026")
    for path, name in [("/me/profile", "profile"), ("/quizzes/wrong-book", "wrong-book")]:
        page.goto(f"{base}{path}")
        _shot(page, shots, f"trainee-{name}-en-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    english.close()
    assert not errors, errors
