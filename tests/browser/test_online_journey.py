"""Online study in a real browser: the watch page on a 375 px phone beats while playing and
stops when the tab is hidden; the organizer's overview at 1280 px."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect

from tests import samples

pytestmark = pytest.mark.once


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#submit")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


@pytest.fixture
def recording(live):
    """A course recording for the demo, removed afterwards so the crawl's view stays the demo's."""
    import sqlalchemy as sa

    from lms.auth.models import User
    from lms.catalog.models import Course
    from lms.extensions import db
    from lms.materials.models import Material, MaterialVersion, Visibility
    from lms.materials.services import add_material
    from lms.materials.storage import store
    from lms.online.models import Recording, ViewingProgress
    from lms.online.services import create_recording

    app = live["app"]
    with app.app_context():
        organizer = db.session.scalar(sa.select(User).where(User.username == "organizer"))
        course = db.session.scalars(sa.select(Course).order_by(Course.code)).first()
        stored = store(io.BytesIO(samples.mp4()), "党章学习微课.mp4")
        material = add_material(organizer, stored, "党章学习微课", Visibility.ALL, course=course)
        made = create_recording(organizer, material, "党章学习微课", 600, None, None)
        db.session.commit()
        ids = made.id, material.id
    yield ids[0]
    with app.app_context():
        db.session.execute(sa.delete(ViewingProgress).where(ViewingProgress.recording_id == ids[0]))
        db.session.execute(sa.delete(Recording).where(Recording.id == ids[0]))
        db.session.execute(sa.delete(MaterialVersion).where(MaterialVersion.material_id == ids[1]))
        db.session.execute(sa.delete(Material).where(Material.id == ids[1]))
        db.session.commit()


def test_watch_page_beats_only_while_playing_and_visible(browser, live, shots, recording):
    base = live["url"]
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    beats = []
    page.on("request", lambda r: beats.append(r) if r.url.endswith("/heartbeat") else None)
    _login(page, base, "trainee", "Trainee@2026")
    page.goto(f"{base}/online/")
    page.get_by_text("党章学习微课").first.click()
    page.wait_for_url(re.compile(rf"/online/recordings/{recording}$"))
    page.clock.install()
    page.reload()
    expect(page.locator("#online-video")).to_be_visible()
    page.screenshot(path=str(shots / "online-watch-375.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375

    # The sample file is not playable media: drive the player's events by hand.
    page.evaluate("document.getElementById('online-video').dispatchEvent(new Event('play'))")
    page.wait_for_timeout(200)
    assert len(beats) == 1
    assert beats[0].post_data_json == {"position": 0}
    assert beats[0].headers.get("x-csrftoken")
    page.clock.run_for(10_000)
    page.wait_for_timeout(200)
    assert len(beats) == 2

    # The tab goes to the background: no more heartbeats, however long it stays there.
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    page.clock.run_for(120_000)
    page.wait_for_timeout(200)
    assert len(beats) == 2

    # Back in front and paused: a pause sends one last beat, then silence.
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});"
        "var v = document.getElementById('online-video');"
        "v.dispatchEvent(new Event('play')); v.dispatchEvent(new Event('pause'))"
    )
    page.wait_for_timeout(200)
    count = len(beats)
    page.clock.run_for(60_000)
    page.wait_for_timeout(200)
    assert len(beats) == count
    assert not [e for e in errors if "heartbeat" not in e], errors
    context.close()


def test_organizer_sees_online_study(browser, live, shots, recording):
    base = live["url"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _login(page, base, "trainee", "Trainee@2026")
    page.goto(f"{base}/online/recordings/{recording}")  # starts a progress record
    page.context.clear_cookies()
    _login(page, base, "organizer", "Organizer@2026")
    page.goto(f"{base}/online/")
    page.get_by_role("link", name="线上学习情况").click()
    expect(page.get_by_role("heading", name="线上学习情况")).to_be_visible()
    expect(page.locator("table").get_by_text("党章学习微课")).to_be_visible()
    page.screenshot(path=str(shots / "online-manage-1280.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    page.goto(f"{base}/online/rules")
    expect(page.locator("#course_minutes")).to_have_value("30")
    context.close()
