"""Sign-in with the company directory, against a real OpenLDAP server (directory_server.py)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditLog
from lms.auth import directory
from lms.auth.models import DIRECTORY_PASSWORD_HASH, Role, User
from lms.extensions import db
from tests.conftest import login as sign_in_without_form
from tests.directory_server import (
    PEOPLE,
    READER_DN,
    READER_PASSWORD,
    free_port,
    load_people,
    require_slapd,
    running_slapd,
)
from tests.factories import PASSWORD, make_member, make_user

DIRECTORY_PASSWORD = "Dir#Pass2026"
ODD_NAME = "𠮷野 堃玥"  # a supplementary-plane character and two outside GB2312

PEOPLE_IN_DIRECTORY = [
    {"uid": "zhangsan", "cn": "张三", "sn": "张", "employeeNumber": "100001"},
    {"uid": "lisi", "cn": "李四", "sn": "李", "employeeNumber": "100002"},
    {"uid": "jiye", "cn": ODD_NAME, "sn": "𠮷野", "employeeNumber": "100003"},
    {"uid": "zhaoliu", "cn": "赵六", "sn": "赵", "employeeNumber": "100004"},
    {"uid": "boss", "cn": "Boss", "sn": "Boss", "employeeNumber": "100005"},
    {"uid": "outsider", "cn": "外来人", "sn": "外", "employeeNumber": "999999"},
    {"uid": "nonumber", "cn": "无工号", "sn": "无"},
    {"uid": "star", "cn": "Star", "sn": "Star", "employeeNumber": "100006"},
]


@pytest.fixture(scope="session")
def slapd(tmp_path_factory):
    require_slapd()
    with running_slapd(tmp_path_factory.mktemp("slapd")) as server:
        load_people(
            server,
            [dict(person, userPassword=DIRECTORY_PASSWORD) for person in PEOPLE_IN_DIRECTORY],
        )
        yield server


@pytest.fixture(scope="session")
def slapd_tls(tmp_path_factory):
    """A second server, with a self-signed certificate: ldaps:// and StartTLS."""
    require_slapd()
    with running_slapd(tmp_path_factory.mktemp("slapd-tls"), tls=True) as server:
        load_people(server, [dict(PEOPLE_IN_DIRECTORY[0], userPassword=DIRECTORY_PASSWORD)])
        yield server


def _directory_config(url: str, **overrides) -> dict:
    return {
        "LDAP_URL": url,
        "LDAP_BASE_DN": PEOPLE,
        "LDAP_BIND_DN": READER_DN,
        "LDAP_BIND_PASSWORD": READER_PASSWORD,
        "LDAP_TIMEOUT": 2,
        **overrides,
    }


@pytest.fixture
def configure(app):
    """configure(url, **settings): switch directory sign-in on for one test."""
    saved = dict(app.config)

    def _configure(url: str, **overrides) -> None:
        app.config.update(_directory_config(url, **overrides))

    yield _configure
    app.config.clear()
    app.config.update(saved)


@pytest.fixture
def ldap_on(slapd, configure):
    configure(slapd.url)
    return slapd


def _post_login(client, username, password):
    return client.post("/login", data={"username": username, "password": password})


def _audit(action: str) -> list[AuditLog]:
    return list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)))


def test_first_directory_sign_in_creates_a_linked_trainee_account(client, ldap_on):
    member = make_member(name="张三", staff_no="100001")
    response = _post_login(client, "zhangsan", DIRECTORY_PASSWORD)
    assert response.status_code == 302 and response.location == "/"
    user = db.session.scalar(sa.select(User).where(User.member_id == member.id))
    assert user is not None and user.username == "zhangsan"
    assert user.roles == {Role.TRAINEE} and user.last_login_at is not None
    # No password of theirs is kept, and none opens the account locally.
    assert user.password_hash == DIRECTORY_PASSWORD_HASH
    assert not user.check_password(DIRECTORY_PASSWORD) and not user.check_password("")
    assert client.get("/").status_code == 200
    [entry] = _audit("user.directory_created")
    assert entry.target_id == str(user.id) and entry.actor_id == user.id
    assert entry.details == {"dn": f"uid=zhangsan,{PEOPLE}", "staff_no": "100001"}


def test_second_sign_in_reuses_the_account_by_name_or_staff_number(app, ldap_on):
    member = make_member(staff_no="100001")
    for login in ("zhangsan", "zhangsan", "100001"):
        client = app.test_client()
        assert _post_login(client, login, DIRECTORY_PASSWORD).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    assert db.session.scalar(sa.select(User)).member_id == member.id
    assert len(_audit("user.directory_created")) == 1


def test_existing_account_of_the_member_is_linked_not_duplicated(client, ldap_on):
    member = make_member(staff_no="100002")
    user = make_user(username="li.si", member=member, must_change_password=True)
    assert _post_login(client, "lisi", DIRECTORY_PASSWORD).status_code == 302
    user = db.session.get(User, user.id)
    assert user.is_directory_account and not user.must_change_password
    assert not user.check_password(PASSWORD)  # the old one-time password no longer works
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    [entry] = _audit("user.directory_linked")
    assert entry.target_id == str(user.id)


@pytest.mark.parametrize("password", ["wrong", "Dir#Pass2026 ", "dir#pass2026"])
def test_wrong_directory_password_is_refused(client, ldap_on, password):
    make_member(staff_no="100001")
    response = _post_login(client, "zhangsan", password)
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_empty_password_is_never_an_anonymous_bind(app, ldap_on):
    make_member(staff_no="100001")
    with app.test_request_context():
        # The form refuses an empty password; the directory check refuses it on its own too,
        # since the server would answer an empty-password bind as a successful anonymous one.
        assert directory.check_directory_password("zhangsan", "") is None
        assert directory.check_directory_password("zhangsan", DIRECTORY_PASSWORD) is not None


def test_filter_injection_finds_nobody(app, ldap_on):
    with app.test_request_context():
        for login in ("*", "zhang*", "*)(uid=*", "zhangsan)(|(uid=*"):
            assert directory.check_directory_password(login, DIRECTORY_PASSWORD) is None


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh_CN", "工号 999999 不在学员名册中。请联系党校组织者"),
        ("en", "staff number 999999 is not on the trainee roster. Please ask the party school"),
    ],
)
def test_unknown_employee_number_is_refused_with_a_message(client, ldap_on, language, expected):
    client.post("/language", data={"language": language})
    response = _post_login(client, "outsider", DIRECTORY_PASSWORD)
    assert response.status_code == 200
    assert expected in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh_CN", "公司目录中没有您的工号"), ("en", "The company directory has no staff number")],
)
def test_directory_entry_without_employee_number_is_refused(client, ldap_on, language, expected):
    client.post("/language", data={"language": language})
    response = _post_login(client, "nonumber", DIRECTORY_PASSWORD)
    assert expected in response.get_data(as_text=True)


def test_admin_local_account_is_never_sent_to_the_directory(client, ldap_on, monkeypatch):
    make_member(staff_no="100005")
    make_user(username="boss", roles={Role.ADMIN})

    def no_directory(*args):
        raise AssertionError("the directory was asked about a local account")

    monkeypatch.setattr("lms.auth.services.check_directory_password", no_directory)
    # The directory's password for uid=boss does not open the local admin account ...
    assert _post_login(client, "boss", DIRECTORY_PASSWORD).status_code == 200
    # ... its own local password does.
    assert _post_login(client, "boss", PASSWORD).status_code == 302


def test_local_password_account_keeps_its_password(client, ldap_on):
    member = make_member(staff_no="100004")
    user = make_user(username="zhaoliu", member=member, roles={Role.ORGANIZER})
    # The name is a local account's: only its local password opens it.
    assert _post_login(client, "zhaoliu", DIRECTORY_PASSWORD).status_code == 200
    assert _post_login(client, "zhaoliu", PASSWORD).status_code == 302
    assert not db.session.get(User, user.id).is_directory_account


def test_directory_cannot_take_over_an_admin_linked_to_the_member(client, ldap_on):
    member = make_member(staff_no="100006")
    admin = make_user(username="root", member=member, roles={Role.ADMIN})
    response = _post_login(client, "star", DIRECTORY_PASSWORD)
    assert response.status_code == 200
    assert "使用本系统密码登录" in response.get_data(as_text=True)
    assert not db.session.get(User, admin.id).is_directory_account


def test_deactivated_accounts_are_refused_even_when_the_directory_agrees(app, ldap_on):
    member = make_member(staff_no="100001")
    assert _post_login(app.test_client(), "zhangsan", DIRECTORY_PASSWORD).status_code == 302
    user = db.session.scalar(sa.select(User).where(User.member_id == member.id))
    user.active = False
    db.session.commit()
    for login in ("zhangsan", "100001"):
        response = _post_login(app.test_client(), login, DIRECTORY_PASSWORD)
        assert response.status_code == 200 and "账号已停用" in response.get_data(as_text=True)
    # An inactive member gets no new account either.
    make_member(staff_no="100002", active=False)
    assert _post_login(app.test_client(), "lisi", DIRECTORY_PASSWORD).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_odd_names_in_the_directory_are_kept(client, ldap_on):
    member = make_member(name=ODD_NAME, staff_no="100003")
    assert _post_login(client, "jiye", DIRECTORY_PASSWORD).status_code == 302
    user = db.session.scalar(sa.select(User).where(User.member_id == member.id))
    assert user.display_name == ODD_NAME
    assert ODD_NAME in client.get("/").get_data(as_text=True)


@pytest.mark.security
def test_throttling_applies_to_directory_sign_ins(client, ldap_on, monkeypatch):
    make_member(staff_no="100001")
    for _ in range(5):
        assert _post_login(client, "zhangsan", "wrong").status_code == 200
    asked = []
    real = directory.check_directory_password
    monkeypatch.setattr(
        "lms.auth.services.check_directory_password", lambda *a: asked.append(a) or real(*a)
    )
    response = _post_login(client, "zhangsan", DIRECTORY_PASSWORD)
    assert response.status_code == 429 and asked == []  # refused before the directory is asked


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh_CN", "暂时无法连接公司目录"), ("en", "cannot be reached right now")],
)
def test_directory_down_gives_a_message_and_local_accounts_still_work(
    client, configure, language, expected
):
    configure(f"ldap://127.0.0.1:{free_port()}")  # nothing listens there
    make_member(staff_no="100001")
    client.post("/language", data={"language": language})
    response = _post_login(client, "zhangsan", DIRECTORY_PASSWORD)
    assert response.status_code == 503 and expected in response.get_data(as_text=True)
    make_user(username="boss", roles={Role.ADMIN})
    assert _post_login(client, "boss", PASSWORD).status_code == 302


def test_directory_outage_does_not_count_towards_the_sign_in_limit(client, configure):
    configure(f"ldap://127.0.0.1:{free_port()}")
    for _ in range(7):
        assert _post_login(client, "zhangsan", DIRECTORY_PASSWORD).status_code == 503


@pytest.fixture
def silent_server():
    """A server that accepts connections and never answers, like a hung directory."""
    listener = socket.create_server(("127.0.0.1", 0))
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"ldap://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_directory_timeout_gives_the_outage_message(client, configure, silent_server):
    configure(silent_server, LDAP_TIMEOUT=1)
    started = time.monotonic()
    response = _post_login(client, "zhangsan", DIRECTORY_PASSWORD)
    assert response.status_code == 503 and "暂时无法连接公司目录" in response.get_data(as_text=True)
    assert time.monotonic() - started < 5


def test_bind_with_a_dn_template_instead_of_a_search(client, slapd, configure):
    configure(
        slapd.url,
        LDAP_USER_DN_TEMPLATE=f"uid={{login}},{PEOPLE}",
        LDAP_BIND_DN="",
        LDAP_BIND_PASSWORD="",
    )
    member = make_member(staff_no="100002")
    assert _post_login(client, "lisi", "wrong").status_code == 200
    assert _post_login(client, "lisi", DIRECTORY_PASSWORD).status_code == 302
    assert db.session.scalar(sa.select(User).where(User.member_id == member.id)) is not None


def test_sign_in_page_says_directory_credentials_work_when_configured(client, configure):
    assert "公司统一身份" not in client.get("/login").get_data(as_text=True)
    configure("ldap://127.0.0.1:1")
    assert "公司统一身份（域）账号" in client.get("/login").get_data(as_text=True)
    client.post("/language", data={"language": "en"})
    assert "company directory (domain) account" in client.get("/login").get_data(as_text=True)


def test_without_a_directory_names_only_open_local_accounts(client):
    make_member(staff_no="100001")
    assert _post_login(client, "zhangsan", DIRECTORY_PASSWORD).status_code == 200


def test_directory_account_has_no_password_to_change(app, ldap_on):
    make_member(staff_no="100001")
    client = app.test_client()
    assert _post_login(client, "zhangsan", DIRECTORY_PASSWORD).status_code == 302
    page = client.get("/account/password").get_data(as_text=True)
    assert "密码请在公司目录" in page and 'name="new_password"' not in page
    response = client.post(
        "/account/password",
        data={"current_password": "", "new_password": "Local#2026", "confirm": "Local#2026"},
    )
    assert response.status_code == 200
    user = db.session.scalar(sa.select(User))
    assert user.is_directory_account and not user.check_password("Local#2026")


def test_admin_password_reset_makes_a_directory_account_local_again(app, ldap_on):
    make_member(staff_no="100001")
    assert _post_login(app.test_client(), "zhangsan", DIRECTORY_PASSWORD).status_code == 302
    user = db.session.scalar(sa.select(User))
    admin_client = app.test_client()

    sign_in_without_form(admin_client, make_user(roles={Role.ADMIN}))
    assert "公司目录登录" in admin_client.get("/admin/users").get_data(as_text=True)
    response = admin_client.post(f"/admin/users/{user.id}/reset-password")
    assert response.status_code == 200
    user = db.session.get(User, user.id)
    assert not user.is_directory_account and user.signs_in_locally
    # Now the name opens the account by its local password only, never the directory's.
    assert _post_login(app.test_client(), "zhangsan", DIRECTORY_PASSWORD).status_code == 200


@pytest.mark.parametrize("how", ["ldaps", "starttls"])
def test_directory_over_tls_checks_the_certificate(client, slapd_tls, configure, how):
    url = slapd_tls.ldaps_url if how == "ldaps" else slapd_tls.url
    make_member(staff_no="100001")
    # An unknown certificate is refused: the directory counts as unreachable.
    configure(url, LDAP_START_TLS=how == "starttls", LDAP_CA_FILE="")
    assert _post_login(client, "zhangsan", DIRECTORY_PASSWORD).status_code == 503
    # With its CA it is trusted.
    configure(url, LDAP_START_TLS=how == "starttls", LDAP_CA_FILE=slapd_tls.ca_file)
    assert _post_login(client, "zhangsan", DIRECTORY_PASSWORD).status_code == 302


def test_tls_verification_can_be_switched_off(client, slapd_tls, configure):
    make_member(staff_no="100001")
    configure(slapd_tls.ldaps_url, LDAP_TLS_VERIFY=False, LDAP_CA_FILE="")
    assert _post_login(client, "zhangsan", DIRECTORY_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_missing_slapd_skips_locally_and_fails_under_ci(monkeypatch, ci, outcome):
    monkeypatch.setattr("tests.directory_server.SLAPD", "/nonexistent/slapd")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome):
        require_slapd()
