"""A member with no account signs in on a phone with their company-directory password (a real
slapd), in Chinese; someone the roster does not know is told, in English, whom to ask."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.directory_server import (
    PEOPLE,
    READER_DN,
    READER_PASSWORD,
    load_people,
    require_slapd,
    running_slapd,
)

pytestmark = pytest.mark.once

DIRECTORY_PASSWORD = "Dir#Pass2026"


@pytest.fixture
def directory_on(live, tmp_path):
    """The live demo with directory sign-in on: a member without an account is in the directory
    as uid=newcomer, and uid=stranger has an employee number no member has."""
    require_slapd()
    from lms.extensions import db
    from lms.org.models import Member

    app = live["app"]
    with app.app_context():
        member = db.session.scalar(
            sa.select(Member).where(~Member.user.has(), Member.active).order_by(Member.staff_no)
        )
        staff_no, name = member.staff_no, member.name
    with running_slapd(tmp_path) as server:
        load_people(
            server,
            [
                {"uid": "newcomer", "cn": name, "sn": name, "employeeNumber": staff_no},
                {"uid": "stranger", "cn": "陌生人", "sn": "陌", "employeeNumber": "X-404"},
            ],
            password=DIRECTORY_PASSWORD,
        )
        saved = dict(app.config)
        app.config.update(
            LDAP_URL=server.url,
            LDAP_BASE_DN=PEOPLE,
            LDAP_BIND_DN=READER_DN,
            LDAP_BIND_PASSWORD=READER_PASSWORD,
        )
        try:
            yield {"name": name, "staff_no": staff_no}
        finally:
            app.config.clear()
            app.config.update(saved)


def test_directory_sign_in_on_a_phone(browser, live, directory_on, shots):
    base = live["url"]
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/login")
    expect(page.locator("#directory-hint")).to_contain_text("公司统一身份")
    page.screenshot(path=str(shots / "directory-login-375.png"), full_page=True)
    page.fill("#username", "newcomer")
    page.fill("#password", DIRECTORY_PASSWORD)
    page.click("#submit")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
    # Signed in as the member (the name sits in the navbar, folded away on a phone).
    expect(page.get_by_role("link", name="我的学员信息")).to_be_visible()
    expect(page.get_by_text(directory_on["name"]).first).to_be_attached()
    expect(page.get_by_role("link", name="修改密码")).to_have_count(0)  # the directory's to change
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(shots / "directory-signed-in-375.png"), full_page=True)
    context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en")
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("#username", "stranger")
    page.fill("#password", DIRECTORY_PASSWORD)
    page.click("#submit")
    expect(page.get_by_text("staff number X-404 is not on the trainee roster")).to_be_visible()
    page.screenshot(path=str(shots / "directory-refused-1280.png"), full_page=True)
    context.close()
