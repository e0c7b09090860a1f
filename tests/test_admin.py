"""Admin: accounts, roles, one-time passwords and the audit log."""

import re

import pytest

from lms.admin.models import AuditLog
from lms.auth.models import Role, User
from lms.extensions import db
from tests.conftest import login
from tests.factories import make_member, make_user


def _admin(client):
    return login(client, make_user(roles={Role.ADMIN}, username="root"))


def _audit(action):
    return db.session.scalars(db.select(AuditLog).where(AuditLog.action == action)).all()


def test_create_account_issues_one_time_password(client, app):
    _admin(client)
    member = make_member(staff_no="M77", name="孙玥")
    response = client.post(
        "/admin/users/new",
        data={
            "username": "sunyue",
            "display_name": "",
            "member_staff_no": "M77",
            "roles": ["trainee", "lecturer"],
            "active": "y",
        },
    )
    html = response.get_data(as_text=True)
    password = re.search(r'one-time-password">([^<]+)<', html).group(1)
    user = db.session.scalar(db.select(User).where(User.username == "sunyue"))
    assert user.roles == {Role.TRAINEE, Role.LECTURER}
    assert user.member_id == member.id and user.name == "孙玥"
    assert user.must_change_password and user.check_password(password)
    assert _audit("user.created")[0].details["roles"] == ["lecturer", "trainee"]
    # The new user must change the password before anything else.
    other = app.test_client()
    other.post("/login", data={"username": "sunyue", "password": password})
    assert other.get("/").location == "/account/password"


def test_create_account_refuses_bad_input(client):
    _admin(client)
    taken = make_member(staff_no="M1")
    make_user(member=taken, username="existing")
    before = db.session.scalar(db.select(db.func.count()).select_from(User))
    for data, message in [
        ({"username": "existing"}, "该用户名已存在"),
        ({"username": "bad name!"}, "用户名只能包含"),
        ({"username": "ok1", "member_staff_no": "NOPE"}, "没有这个工号的学员"),
        ({"username": "ok2", "member_staff_no": "M1"}, "已关联其他账号"),
        ({"username": "ok3", "roles": ["emperor"]}, "所选项无效"),
    ]:
        response = client.post("/admin/users/new", data=data)
        assert response.status_code == 200
        assert message in response.get_data(as_text=True), data
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == before


def test_role_change_is_audited(client):
    _admin(client)
    user = make_user(roles={Role.TRAINEE})
    response = client.post(
        f"/admin/users/{user.id}",
        data={"roles": ["trainee", "organizer"], "active": "y", "display_name": "组织员"},
    )
    assert response.status_code == 302
    assert user.roles == {Role.TRAINEE, Role.ORGANIZER}
    entry = _audit("user.updated")[0]
    assert entry.details["roles"] == [["trainee"], ["organizer", "trainee"]]
    assert entry.actor.username == "root"


def test_disabling_an_account_signs_it_out(client, app):
    _admin(client)
    user = make_user()
    theirs = login(app.test_client(), user)
    client.post(f"/admin/users/{user.id}", data={"roles": ["trainee"]})  # active unchecked
    assert user.active is False
    assert theirs.get("/").status_code == 302


def test_admin_cannot_lock_themselves_out(client):
    _admin(client)
    me = db.session.scalar(db.select(User).where(User.username == "root"))
    response = client.post(f"/admin/users/{me.id}", data={"roles": ["trainee"], "active": "y"})
    assert "不能取消自己的管理员角色" in response.get_data(as_text=True)
    assert Role.ADMIN in me.roles


def test_reset_password(client):
    _admin(client)
    user = make_user()
    html = client.post(f"/admin/users/{user.id}/reset-password").get_data(as_text=True)
    password = re.search(r'one-time-password">([^<]+)<', html).group(1)
    assert user.check_password(password) and user.must_change_password
    assert _audit("user.password_reset")


@pytest.mark.parametrize("query", ["钱学", "T7701", "7701", "qxs"])
def test_user_search_finds_the_linked_members_name_and_staff_number(client, query):
    _admin(client)
    make_user(username="qxs", member=make_member(name="钱学森", staff_no="T770123"))
    make_user(username="other", member=make_member(name="赵六"))
    html = client.get("/admin/users", query_string={"q": query}).get_data(as_text=True)
    assert "钱学森" in html and "赵六" not in html


def test_user_search_says_when_nothing_matches(client):
    _admin(client)
    html = client.get("/admin/users", query_string={"q": "无此人"}).get_data(as_text=True)
    assert "没有找到与「无此人」匹配的用户" in html


def test_user_list_search_and_audit_page(client):
    _admin(client)
    make_user(username="findme")
    make_user(username="other")
    html = client.get("/admin/users?q=find").get_data(as_text=True)
    assert "findme" in html and "other" not in html
    client.post("/admin/users/new", data={"username": "张三zs", "roles": ["trainee"]})
    make_user(username="x1")
    client.post("/admin/users/new", data={"username": "newone", "roles": ["trainee"]})
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "user.created" in html and "trainee" in html
