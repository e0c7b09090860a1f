"""Chinese by default, English by choice or Accept-Language; every string has its translation."""

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from lms.auth.models import User
from lms.extensions import db
from lms.paths import PACKAGE_DIR
from tests.conftest import login
from tests.factories import make_user

ROOT = PACKAGE_DIR.parent
EN_PO = PACKAGE_DIR / "translations" / "en" / "LC_MESSAGES" / "messages.po"
EN_MO = EN_PO.with_suffix(".mo")


def _extracted_ids() -> set[str]:
    method_map = [("lms/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=keywords
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_string_has_an_english_translation():
    catalog = read_po(io.BytesIO(EN_PO.read_bytes()))
    translated = {m.id for m in catalog if m.id and m.string}
    missing = sorted(_extracted_ids() - translated)
    assert not missing, f"run `make translations` and translate: {missing}"


def test_compiled_catalog_matches_the_po_file():
    po = {m.id: m.string for m in read_po(io.BytesIO(EN_PO.read_bytes())) if m.id}
    mo = {m.id: m.string for m in read_mo(io.BytesIO(EN_MO.read_bytes())) if m.id}
    assert po == mo, "run `make translations` to recompile the .mo file"


def test_chinese_by_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert "登录" in html and 'lang="zh-CN"' in html


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", "Sign in"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "登录"),
        ("fr-FR", "登录"),
        ("zh-TW", "登录"),
    ],
)
def test_accept_language(client, header, expected):
    html = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
    assert expected in html


def test_language_switch_is_remembered_per_user(client):
    user = make_user()
    login(client, user)
    response = client.post("/language", data={"language": "en", "next": "/account/password"})
    assert response.location == "/account/password"
    assert db.session.get(User, user.id).locale == "en"
    assert "Change password" in client.get("/account/password").get_data(as_text=True)
    # The user's choice beats the browser's.
    html = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Hello" in html


def test_language_switch_for_anonymous_visitors(client):
    client.post("/language", data={"language": "en"})
    assert "Sign in" in client.get("/login").get_data(as_text=True)


def test_unknown_language_is_ignored(client):
    client.post("/language", data={"language": "xx"})
    assert "登录" in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize(("lang", "text"), [("zh-CN", "页面不存在"), ("en", "Page not found")])
def test_error_pages_in_both_languages(client, lang, text):
    login(client, make_user())
    response = client.get("/no/such/page", headers={"Accept-Language": lang})
    assert response.status_code == 404
    assert text in response.get_data(as_text=True)


def test_form_errors_follow_the_language(client):
    response = client.post("/login", data={}, headers={"Accept-Language": "en"})
    assert "This field is required." in response.get_data(as_text=True)
    response = client.post("/login", data={})
    assert "该字段是必填字段" in response.get_data(as_text=True)


def test_translations_folder_is_inside_the_package():
    assert Path(EN_MO).is_file()


def test_file_sizes_and_lists_read_in_the_users_language(app):
    from flask_babel import refresh

    from lms import file_size, locale_list

    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        refresh()  # the test's app context has a language already
        assert file_size(602) == "602字节"
        assert file_size(1258291) == "1.2 MB"
        assert locale_list(["王喆", "张三", "李四"]) == "王喆、张三和李四"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        assert file_size(602) == "602 bytes"
        assert file_size(2048) == "2 kB"
        assert locale_list(["Wang", "Zhang", "Li"]) == "Wang, Zhang, and Li"


def test_a_page_looks_its_translations_up_once_and_follows_a_forced_language(app, monkeypatch):
    """Templates take the request's translations from `request_translations`, which keeps them
    for the request; a `force_locale` block (a mail in the recipient's language) still gets its
    own language, and the request's comes back after it."""
    from flask import render_template_string
    from flask_babel import force_locale

    import lms.web

    looked_up = []
    real = lms.web.get_translations
    monkeypatch.setattr(lms.web, "get_translations", lambda: looked_up.append(1) or real())
    page = "{{ _('首页') }} {{ _('退出') }} {{ _('首页') }}"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert render_template_string(page) == "Home Sign out Home"
        assert len(looked_up) == 1
        with force_locale("zh_CN"):
            assert render_template_string(page) == "首页 退出 首页"
        assert render_template_string(page) == "Home Sign out Home"
        assert len(looked_up) == 3
