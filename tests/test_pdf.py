"""The one PDF entry point: real CJK text, packaged assets only, nothing outside fetched."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader

from lms.auth.models import Role
from lms.pdf import AssetRefused, locked_url_fetcher, render_pdf
from tests.conftest import login
from tests.factories import make_enrollment, make_lesson, make_member, make_session, make_user


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_names_outside_gb2312_are_real_extractable_text():
    pdf = render_pdf(
        "<html><body style=\"font-family: 'Noto Serif CJK SC', serif\">"
        "王𠮷祥 张喆 李堃 陈昇 赵玥</body></html>"
    )
    text = _text(pdf)
    for name in ("王𠮷祥", "张喆", "李堃", "陈昇", "赵玥"):
        assert name in text


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://example.com/x.css",
        "https://127.0.0.1:9/x.png",
        "ftp://example.com/x",
        "asset:/static/../../../etc/passwd",
        "asset:/secrets/x",
        "asset:/static/does-not-exist.css",
    ],
)
@pytest.mark.security
def test_the_fetcher_refuses_anything_but_packaged_assets(url):
    with pytest.raises(AssetRefused):
        locked_url_fetcher(url)


def test_packaged_assets_and_data_urls_are_served():
    assert b"bg-party" in locked_url_fetcher("asset:/static/app.css").read()
    assert locked_url_fetcher("data:text/plain;base64,5YWa").read() == "党".encode()


@pytest.mark.security
def test_a_hostile_template_leaks_nothing():
    pdf = render_pdf(
        '<html><head><link rel="stylesheet" href="http://10.255.255.1/x.css">'
        '<link rel="stylesheet" href="file:///etc/passwd"></head><body>'
        '<img src="file:///etc/passwd"><img src="http://10.255.255.1/x.png">'
        '<iframe src="file:///etc/hostname"></iframe>安全</body></html>'
    )
    text = _text(pdf)
    assert "安全" in text and "root:" not in text


def test_sign_in_sheet_pdf(client):
    session = make_session(start=date(2026, 11, 26))
    make_lesson(session=session)
    member = make_member(name="王𠮷祥")
    make_enrollment(session, member)
    login(client, make_user(roles={Role.ORGANIZER}))
    response = client.get(f"/attendance/sessions/{session.id}/sheet.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline")
    text = _text(response.data)
    assert "王𠮷祥" in text and member.staff_no in text and session.title in text
