"""Signing in and out, passwords, throttling, redirects, cookies and security headers."""

import pytest
from werkzeug.security import generate_password_hash

from lms.auth.models import Role, User
from lms.auth.services import safe_next_url
from lms.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD, make_member, make_user


def _post_login(client, username, password, **extra):
    return client.post("/login", data={"username": username, "password": password, **extra})


def test_login_with_good_password_redirects_home(client):
    user = make_user(username="wang")
    response = _post_login(client, "wang", PASSWORD)
    assert response.status_code == 302 and response.location == "/"
    assert client.get("/").status_code == 200
    assert db.session.get(User, user.id).last_login_at is not None


@pytest.mark.parametrize(
    ("username", "password", "active"),
    [("wang", "wrong-password", True), ("nobody", PASSWORD, True), ("wang", PASSWORD, False)],
)
@pytest.mark.security
def test_login_refused_with_one_message(client, username, password, active):
    make_user(username="wang", active=active)
    response = _post_login(client, username, password)
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/members/", "/members/"),
        ("/members/?q=%E5%BC%A0", "/members/?q=%E5%BC%A0"),
        ("https://evil.example/", None),
        ("//evil.example/x", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("members", None),
        ("/ok\r\nLocation: x", None),
        ("", None),
    ],
)
@pytest.mark.security
def test_next_only_redirects_inside_the_site(target, expected):
    assert safe_next_url(target) == expected


@pytest.mark.security
def test_login_follows_safe_next_and_ignores_outside_next(client):
    make_user(username="li")
    response = _post_login(client, "li", PASSWORD, next="/account/password")
    assert response.location == "/account/password"
    client.post("/logout")
    response = _post_login(client, "li", PASSWORD, next="https://evil.example/")
    assert response.location == "/"


@pytest.mark.security
def test_session_is_renewed_at_login(client):
    make_user(username="zhao")
    with client.session_transaction() as session:
        session["planted"] = "by-attacker"
    _post_login(client, "zhao", PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(
            str(db.session.scalar(db.select(User.id).where(User.username == "zhao")))
        )


def test_logout_requires_post_and_ends_session(client):
    user = make_user()
    login(client, user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.security
def test_copied_session_cookie_is_refused_after_logout(app):
    user = make_user(username="copy")
    browser, thief = app.test_client(), app.test_client()
    assert _post_login(browser, "copy", PASSWORD).status_code == 302
    thief.set_cookie("session", browser.get_cookie("session").value)
    assert thief.get("/").status_code == 200  # the copy works while the owner is signed in
    browser.post("/logout")
    assert thief.get("/").location.startswith("/login")
    response = thief.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "Stolen#2026",
            "confirm": "Stolen#2026",
        },
    )
    assert response.status_code == 302 and response.location.startswith("/login")
    assert db.session.get(User, user.id).check_password(PASSWORD)
    # Signing in again works as before.
    assert _post_login(browser, "copy", PASSWORD).status_code == 302
    assert browser.get("/").status_code == 200


@pytest.mark.security
def test_account_throttled_after_repeated_failures(client, app):
    make_user(username="sun")
    for _ in range(5):
        assert _post_login(client, "sun", "bad").status_code == 200
    response = _post_login(client, "sun", PASSWORD)
    assert response.status_code == 429
    assert "登录失败次数过多" in response.get_data(as_text=True)
    # Another account from the same address is not blocked by this account's limit.
    make_user(username="zhou")
    assert _post_login(client, "zhou", PASSWORD).status_code == 302


# Who tries: "owner" is a browser that signed in to `owner` before (it holds the known-device
# cookie), "stranger" and "newcomer" are browsers that never did, "forger" sends a made-up cookie.
# Each row: what happened first (who, address, account, right password?, how many times), then
# the last try and its answer.
THROTTLING = {
    "stranger's 5 failures do not lock the owner out of a known device": (
        [("stranger", "10.0.0.66", "owner", False, 5)],
        ("owner", "10.0.0.1", "owner", True, 302),
    ),
    "... not even from the stranger's own address (one NAT)": (
        [("stranger", "10.0.0.66", "owner", False, 5)],
        ("owner", "10.0.0.66", "owner", True, 302),
    ),
    "the same address and account is throttled, right password or not": (
        [("stranger", "10.0.0.66", "owner", False, 5)],
        ("stranger", "10.0.0.66", "owner", True, 429),
    ),
    "another address is not throttled by one address's failures": (
        [("stranger", "10.0.0.66", "owner", False, 5)],
        ("newcomer", "10.0.0.2", "owner", True, 302),
    ),
    "50 failures from 50 addresses throttle the account for unknown devices": (
        [("stranger", f"10.0.1.{n}", "owner", False, 1) for n in range(50)],
        ("newcomer", "10.0.0.2", "owner", True, 429),
    ),
    "... but not for the owner's known device": (
        [("stranger", f"10.0.1.{n}", "owner", False, 1) for n in range(50)],
        ("owner", "10.0.0.2", "owner", True, 302),
    ),
    "a NAT address with 60 users' failures still lets another user in": (
        [("stranger", "10.1.1.1", f"user{n}", False, 1) for n in range(60)],
        ("newcomer", "10.1.1.1", "owner", True, 302),
    ),
    "100 failures across accounts throttle the address for unknown devices": (
        [("stranger", "10.1.1.1", f"user{n}", False, 1) for n in range(100)],
        ("newcomer", "10.1.1.1", "owner", True, 429),
    ),
    "... but not for a known device": (
        [("stranger", "10.1.1.1", f"user{n}", False, 1) for n in range(100)],
        ("owner", "10.1.1.1", "owner", True, 302),
    ),
    "a known device is throttled by its own failures": (
        [("owner", "10.0.0.1", "owner", False, 5)],
        ("owner", "10.0.0.1", "owner", True, 429),
    ),
    "a forged known-device cookie is a stranger's": (
        [("stranger", "10.0.0.66", "owner", False, 5)],
        ("forger", "10.0.0.66", "owner", True, 429),
    ),
    "username and 工号 count against the same account": (
        [
            ("stranger", "10.0.0.66", "owner", False, 3),
            ("stranger", "10.0.0.66", "G1001", False, 2),
        ],
        ("stranger", "10.0.0.66", "G1001", True, 429),
    ),
}


@pytest.mark.parametrize(("before", "last"), THROTTLING.values(), ids=THROTTLING.keys())
@pytest.mark.security
def test_sign_in_throttling(app, before, last):
    make_user(username="owner", member=make_member(staff_no="G1001"))
    browsers = {name: app.test_client() for name in ("owner", "stranger", "newcomer", "forger")}
    assert _post_login(browsers["owner"], "owner", PASSWORD).status_code == 302
    browsers["owner"].post("/logout")
    browsers["forger"].set_cookie("lms_device", "eyJkIjoieCIsInUiOlsxXX0.forged", path="/login")

    def attempt(who, address, account, right, expected=None):
        response = browsers[who].post(
            "/login",
            data={"username": account, "password": PASSWORD if right else "wrong"},
            environ_base={"REMOTE_ADDR": address},
        )
        if expected is not None:
            assert response.status_code == expected
        if response.status_code == 302:
            browsers[who].post("/logout")
        return response

    for who, address, account, right, times in before:
        for _ in range(times):
            assert attempt(who, address, account, right).status_code == 200
    response = attempt(*last)
    if last[-1] == 429:
        assert 0 < int(response.headers["Retry-After"]) <= 3600
        assert "登录失败次数过多" in response.get_data(as_text=True)


@pytest.mark.security
def test_address_throttled_across_accounts(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_IP", "3 per 10 minutes")
    for name in ("a1", "a2", "a3"):
        assert _post_login(client, name, "bad").status_code == 200
    assert _post_login(client, "a4", "bad").status_code == 429


def test_successful_logins_are_not_throttled(client):
    make_user(username="qian")
    for _ in range(8):
        assert _post_login(client, "qian", PASSWORD).status_code == 302
        client.post("/logout")


def test_forced_password_change_at_first_login(client):
    make_user(username="new1", must_change_password=True)
    response = _post_login(client, "new1", PASSWORD)
    assert response.location == "/account/password"
    assert client.get("/members/").location == "/account/password"
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "Better#2026",
            "confirm": "Better#2026",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(db.select(User).where(User.username == "new1"))
    assert not user.must_change_password
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("Better#2026")
    assert client.get("/").status_code == 200  # still signed in after the change


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong", "Better#2026", "Better#2026", "当前密码不正确"),
        (PASSWORD, "short1", "short1", "8 到 256"),
        (PASSWORD, "12345678901", "12345678901", "同时包含字母"),
        (PASSWORD, "Better#2026", "Other#2026", "不一致"),
        (PASSWORD, PASSWORD, PASSWORD, "不能与当前密码相同"),
    ],
)
def test_change_password_refuses_bad_input(client, current, new, confirm, message):
    user = make_user()
    old_hash = user.password_hash
    login(client, user)
    response = client.post(
        "/account/password",
        data={"current_password": current, "new_password": new, "confirm": confirm},
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == old_hash


def test_password_change_logs_out_other_sessions(app):
    user = make_user()
    first, second = app.test_client(), app.test_client()
    login(first, user)
    login(second, user)
    first.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "Better#2026",
            "confirm": "Better#2026",
        },
    )
    assert first.get("/").status_code == 200
    assert second.get("/").status_code == 302


def test_deactivated_account_is_signed_out(client):
    user = make_user()
    login(client, user)
    user.active = False
    db.session.commit()
    assert client.get("/").status_code == 302


@pytest.mark.security
def test_passwords_are_hashed_with_scrypt():
    user = User(username="x")
    user.set_password("Secret#2026")
    assert user.password_hash.startswith("scrypt:")
    assert "Secret#2026" not in user.password_hash


@pytest.mark.security
def test_post_without_csrf_token_is_refused(client, csrf_enabled):
    make_user(username="csrf")
    response = _post_login(client, "csrf", PASSWORD)
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_with_csrf_token_works(client, csrf_enabled):
    import re

    make_user(username="csrf2")
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = _post_login(client, "csrf2", PASSWORD, csrf_token=token)
    assert response.status_code == 302


@pytest.mark.security
def test_security_headers_and_cookie_flags(client):
    make_user(username="hdr")
    response = _post_login(client, "hdr", PASSWORD)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.security
def test_pages_have_no_inline_script(client):
    login(client, make_user(roles={Role.ORGANIZER, Role.ADMIN}))
    for url in ("/", "/members/", "/admin/users", "/login"):
        html = client.get(url).get_data(as_text=True)
        for tag in html.split("<script")[1:]:
            assert tag.lstrip().startswith("src="), f"inline script on {url}"
        assert "http://" not in html and "https://" not in html, f"outside URL on {url}"


def test_member_can_log_in_with_linked_account(client):
    member = make_member(name="李喆")
    user = make_user(username="100200", member=member)
    user.password_hash = generate_password_hash("Trainee#1", method="pbkdf2:sha256:1")
    db.session.commit()
    _post_login(client, "100200", "Trainee#1")
    assert "李喆" in client.get("/").get_data(as_text=True)


def test_member_can_sign_in_with_their_staff_number(client):
    member = make_member(name="周玥", staff_no="G2001")
    make_user(username="zhouyue", member=member)
    response = _post_login(client, " G2001 ", PASSWORD)
    assert response.status_code == 302 and response.location == "/"
    assert "周玥" in client.get("/").get_data(as_text=True)


def test_a_username_wins_over_another_accounts_staff_number(client):
    """A name that is one account's username and another's 工号 only ever means the first."""
    make_user(username="G3001", password="Owner#2026x")
    make_user(username="linked", member=make_member(staff_no="G3001"))
    assert _post_login(client, "G3001", PASSWORD).status_code == 200  # not the linked account
    assert _post_login(client, "G3001", "Owner#2026x").status_code == 302
    client.post("/logout")
    assert _post_login(client, "linked", PASSWORD).status_code == 302


def test_only_a_view_marked_unlimited_is_passed_over_by_the_rate_limiter(app):
    """The autosave skips the limiter's work; sign-in, which has a limit, never does, and
    neither would a view whose limit is stacked on top of `unlimited` (another function)."""
    from functools import wraps

    from lms.web import _view_is_unlimited, unlimited

    with app.test_request_context("/quizzes/attempts/1/answer", method="POST"):
        assert _view_is_unlimited()
    with app.test_request_context("/login", method="POST"):
        assert not _view_is_unlimited()
    marked = unlimited(lambda: "")
    wrapped = wraps(marked)(lambda: "")
    with app.test_request_context("/login", method="POST"):
        app.view_functions["auth.login"], real = marked, app.view_functions["auth.login"]
        try:
            assert _view_is_unlimited()
            app.view_functions["auth.login"] = wrapped
            assert not _view_is_unlimited()
        finally:
            app.view_functions["auth.login"] = real
