"""Friendly error pages; an unexpected error is logged and answered with a 500 page."""

import pytest
from flask import abort

from lms import create_app
from tests.conftest import login
from tests.factories import make_user


@pytest.fixture
def failing_app(app, tmp_path, monkeypatch):
    """A second app on the same database with routes that fail on purpose."""
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    other = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        }
    )
    other.add_url_rule("/boom", "boom", lambda: 1 / 0)
    other.add_url_rule("/forbidden", "forbidden", lambda: abort(403))
    return other


def test_unexpected_error_gets_friendly_500(failing_app, caplog):
    response = failing_app.test_client().get("/boom", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "系统出错了" in html and "Traceback" not in html and "ZeroDivisionError" not in html
    assert any("unhandled error on GET /boom" in r.message for r in caplog.records)


def test_500_page_in_english(failing_app):
    response = failing_app.test_client().get("/boom", headers={"Accept-Language": "en"})
    assert "Something went wrong" in response.get_data(as_text=True)


def test_403_page(failing_app):
    response = failing_app.test_client().get("/forbidden")
    assert response.status_code == 403 and "没有权限" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url", ["/members/abc", "/members/-1", "/admin/users/1e9", "/members/%00", "/%ff"]
)
def test_odd_ids_are_404_not_500(client, url):
    login(client, make_user(roles={"organizer", "admin"}))
    assert client.get(url).status_code == 404


def test_wrong_method_is_405(client):
    assert client.put("/login").status_code == 405


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [("GET", "/members/?q=%00", None), ("POST", "/login", {"username": "a\x00b", "password": "x"})],
)
def test_nul_characters_are_refused_clearly(client, method, url, data):
    login(client, make_user(roles={"organizer"}))
    response = client.open(url, method=method, data=data)
    assert response.status_code == 400
    assert "无效字符" in response.get_data(as_text=True)
