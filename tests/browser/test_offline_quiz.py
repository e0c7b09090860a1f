"""The quiz when the network flickers: answers kept in the browser, restored after a reload,
sent in order when the network is back, and the saved mark telling the truth."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.once


def _login(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", "trainee")
    page.fill("#password", "Trainee@2026")
    page.click("#submit")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


def _start(page, base: str) -> int:
    page.goto(f"{base}/quizzes/1")
    page.get_by_role("button", name=re.compile("开始作答|继续作答")).click()
    page.wait_for_url(re.compile(r"/quizzes/attempts/\d+"))
    return int(re.search(r"/attempts/(\d+)", page.url).group(1))


def _answer(page) -> dict:
    """Answer the question on screen; returns the response the server should hold."""
    blanks = page.locator("input[name=blank]")
    if blanks.count():
        texts = []
        for n in range(blanks.count()):
            blanks.nth(n).fill(f"答案{n}")
            texts.append(f"答案{n}")
        blanks.first.blur()
        return {"blanks": texts}
    choice = page.locator("input[name=choice]").last
    choice.check()
    return {"choices": [int(choice.get_attribute("value"))]}


def _saved(live, attempt_id: int) -> dict[int, tuple[dict | None, int]]:
    with live["app"].app_context():
        from lms.extensions import db
        from lms.quizzes.models import Attempt

        db.session.expire_all()
        attempt = db.session.get(Attempt, attempt_id)
        return {i.position: (i.response, i.saved_seq) for i in attempt.questions}


def _reset(live) -> None:
    """Finish the trainee's open attempts so each test starts its own."""
    with live["app"].app_context():
        from lms.extensions import db
        from lms.quizzes import attempts
        from lms.quizzes.models import Attempt, AttemptStatus, Quiz

        for attempt in db.session.scalars(
            db.select(Attempt).where(Attempt.status == AttemptStatus.IN_PROGRESS)
        ):
            attempts.finish_attempt(attempt, AttemptStatus.SUBMITTED)
        db.session.get(Quiz, 1).max_attempts = 0  # unlimited: each test takes a fresh attempt
        db.session.commit()


@pytest.fixture(autouse=True)
def _fresh_attempts(live):
    """Each test takes a fresh attempt and leaves none open for the other journeys."""
    _reset(live)
    yield
    _reset(live)


def test_answers_survive_a_network_cut_and_a_reload(browser, live, shots):
    base = live["url"]
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    _login(page, base)
    attempt_id = _start(page, base)
    take = f"{base}/quizzes/attempts/{attempt_id}"
    page.goto(f"{take}?q=1")
    first = _answer(page)
    expect(page.locator("#save-status")).to_contain_text("已保存")

    # The network to the autosave is cut: pages still load, saves fail.
    page.route("**/answer", lambda route: route.abort("internetdisconnected"))
    page.goto(f"{take}?q=2")
    second = _answer(page)
    expect(page.locator("#save-status")).to_contain_text("未保存，网络恢复后自动提交")
    page.locator("button[name=go][value='3']").click()
    page.wait_for_url(re.compile(r"q=3"))
    third = _answer(page)
    expect(page.locator("#save-status")).to_contain_text("未保存")
    expect(page.locator("#queue-status")).to_contain_text("还有 2 题的答案未保存到服务器")
    page.goto(f"{take}?q=1")
    blanks = page.locator("input[name=blank]")
    if blanks.count():
        blanks.first.fill("改过的答案")
        blanks.first.blur()
        first = {"blanks": ["改过的答案", *first["blanks"][1:]]}
    else:
        choice = page.locator("input[name=choice]").first
        choice.check()
        values = [
            int(c.get_attribute("value")) for c in page.locator("input[name=choice]:checked").all()
        ]
        first = {"choices": sorted(values)}
    expect(page.locator("#save-status")).to_contain_text("未保存")
    # nothing of it reached the server
    before = _saved(live, attempt_id)
    assert before[2] == (None, 0) and before[3] == (None, 0)

    page.reload()
    expect(page.locator("#queue-status")).to_contain_text("还有 3 题的答案未保存到服务器")
    expect(page.locator("#save-status")).to_contain_text("未保存")
    if blanks.count():
        expect(page.locator("input[name=blank]").first).to_have_value("改过的答案")
    else:
        checked = [
            int(c.get_attribute("value")) for c in page.locator("input[name=choice]:checked").all()
        ]
        assert sorted(checked) == first["choices"]
    for pos in (1, 2, 3):
        expect(page.locator(f".question-palette [data-position='{pos}']")).to_have_attribute(
            "data-unsaved", "1"
        )
    page.screenshot(path=str(shots / "trainee-quiz-offline-375.png"), full_page=True)

    # Truly offline too: navigation stays on the page and says why.
    context.set_offline(True)
    page.locator("button[name=go][value='next']").click()
    expect(page.locator("#save-status")).to_contain_text("网络已断开")
    assert "q=1" in page.url
    page.screenshot(path=str(shots / "trainee-quiz-offline-nav-375.png"), full_page=True)

    page.unroute("**/answer")
    context.set_offline(False)
    expect(page.locator("#save-status")).to_contain_text("已保存", timeout=20_000)
    expect(page.locator("#queue-status")).to_be_hidden()
    after = _saved(live, attempt_id)
    assert after[1][0] == first and after[2][0] == second and after[3][0] == third
    assert after[1][1] > before[1][1] > 0 and after[2][1] > 0 and after[3][1] > 0
    assert all(after[p] == (None, 0) for p in after if p > 3)
    page.reload()
    expect(page.locator("#queue-status")).to_be_hidden()
    assert (
        page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('lms-quiz:')).length")
        == 0
    )
    context.close()


def test_an_offline_answer_submitted_after_reconnection_is_graded(browser, live, shots):
    base = live["url"]
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    _login(page, base)
    attempt_id = _start(page, base)
    with live["app"].app_context():
        from lms.extensions import db
        from lms.quizzes.models import Attempt

        attempt = db.session.get(Attempt, attempt_id)
        last = len(attempt.questions)
        item = attempt.questions[-1]
        version = item.version
        key = (
            {"blanks": list(b[0] for b in version.blanks)}
            if version.type == "fill_blank"
            else {"choices": sorted(version.correct)}
        )
    page.goto(f"{base}/quizzes/attempts/{attempt_id}?q={last}")
    context.set_offline(True)
    if "blanks" in key:
        for n, text in enumerate(key["blanks"]):
            page.locator("input[name=blank]").nth(n).fill(text)
        page.locator("input[name=blank]").first.blur()
    else:
        for index in key["choices"]:
            page.locator(f"input[name=choice][value='{index}']").check()
    expect(page.locator("#save-status")).to_contain_text("未保存")
    page.get_by_role("button", name="交卷", exact=True).click()
    expect(page.locator("#queue-status")).to_contain_text("正在保存未提交的答案")
    page.screenshot(path=str(shots / "trainee-quiz-offline-submit-375.png"), full_page=True)
    assert "/result" not in page.url
    context.set_offline(False)
    page.wait_for_url(re.compile(r"/result$"), timeout=20_000)
    with live["app"].app_context():
        from lms.extensions import db
        from lms.quizzes.models import Attempt

        db.session.expire_all()
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.finished and attempt.score is not None
        graded = attempt.questions[-1]
        assert graded.response == key and graded.correct is True
    assert (
        page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('lms-quiz:')).length")
        == 0
    )
    context.close()


def test_without_local_storage_the_page_saves_as_before(browser, live):
    base = live["url"]
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    # private mode / storage full: every write throws
    context.add_init_script(
        "Storage.prototype.setItem = function () {"
        " throw new DOMException('full', 'QuotaExceededError'); };"
    )
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, base)
    attempt_id = _start(page, base)
    page.goto(f"{base}/quizzes/attempts/{attempt_id}?q=1")
    first = _answer(page)
    expect(page.locator("#save-status")).to_contain_text("已保存")
    # navigation is the plain form post again, which saves the question on screen
    page.route("**/answer", lambda route: route.abort("internetdisconnected"))
    page.locator("button[name=go][value='next']").click()
    page.wait_for_url(re.compile(r"q=2"))
    second = _answer(page)
    page.locator("button[name=go][value='next']").click()
    page.wait_for_url(re.compile(r"q=3"))
    saved = _saved(live, attempt_id)
    assert saved[1][0] == first and saved[2][0] == second
    assert not errors, errors
    context.close()
