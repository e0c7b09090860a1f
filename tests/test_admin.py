"""Admin: accounts, roles, one-time passwords and the audit log."""

import re

import pytest

from lms.audit.models import AuditLog
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
    rows = html[html.index("<tbody>") : html.index("</tbody>")]
    assert "新建账号" in rows and "学员" in rows and "user.created" not in rows


def _entry(action, at, actor=None, target_type="user", target_id=1, details=None):
    entry = AuditLog(
        action=action,
        at=at,
        actor_id=actor.id if actor else None,
        target_type=target_type,
        target_id=str(target_id),
        details=details or {},
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def test_audit_log_shows_names_labels_and_readable_details(client):
    admin = make_user(roles={Role.ADMIN}, member=make_member(name="管理员甲"))
    login(client, admin)
    trainee = make_user(username="t100", roles={Role.TRAINEE})
    make_member(name="钱学森", staff_no="G4001")
    client.post(
        f"/admin/users/{trainee.id}",
        data={"roles": ["trainee", "organizer"], "active": "y", "member_staff_no": "G4001"},
    )
    html = client.get("/admin/audit").get_data(as_text=True)
    row = html[html.index("<tbody>") : html.index("</tbody>")]
    assert "管理员甲" in row and "修改账号" in row and "用户 钱学森" in row
    assert "角色：" in row and "学员 → 组织者、学员" in row
    assert "关联学员：</span>— → 钱学森（G4001）" in row
    for raw in ("user.updated", "#", "{", "member_id", admin.username):
        assert raw not in row, raw


def test_audit_log_filters_by_action_person_and_dates(client):
    from datetime import UTC, datetime

    _admin(client)
    li = make_user(member=make_member(name="李喆", staff_no="G5001"))
    wang = make_user(member=make_member(name="王堃"))
    _entry("course.created", datetime(2026, 3, 1, 2, tzinfo=UTC), li, "course", 7, {"code": "C-LI"})
    _entry(
        "course.created", datetime(2026, 3, 5, 2, tzinfo=UTC), wang, "course", 8, {"code": "C-WANG"}
    )
    # 2026-03-09 23:30 UTC is already 3 月 10 日 in the plant's zone (Asia/Shanghai).
    _entry(
        "quiz.created", datetime(2026, 3, 9, 23, 30, tzinfo=UTC), li, "quiz", 9, {"title": "Q-LI"}
    )

    def shown(**query):
        html = client.get("/admin/audit", query_string=query).get_data(as_text=True)
        return {code for code in ("C-LI", "C-WANG", "Q-LI") if code in html}

    assert shown() == {"C-LI", "C-WANG", "Q-LI"}
    assert shown(action="course.created") == {"C-LI", "C-WANG"}
    assert shown(who="李喆") == {"C-LI", "Q-LI"}
    assert shown(who="G5001", action="quiz.created") == {"Q-LI"}
    assert shown(start="2026-03-02", end="2026-03-09") == {"C-WANG"}
    assert shown(start="2026-03-10") == {"Q-LI"}
    html = client.get("/admin/audit", query_string={"who": "无此人"}).get_data(as_text=True)
    assert "没有符合条件的记录" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2026-02-30"}, "不是有效的日期值"),
        ({"end": "yesterday"}, "不是有效的日期值"),
        ({"start": "2026-03-10", "end": "2026-03-01"}, "结束日期不能早于开始日期"),
        ({"action": "no.such.action"}, "筛选条件有误"),
        ({"who": "x" * 65}, "筛选条件有误"),
    ],
)
def test_audit_log_refuses_bad_filters_with_a_message(client, query, message):
    _admin(client)
    response = client.get("/admin/audit", query_string=query)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_every_audited_action_has_a_label():
    from pathlib import Path

    from lms.admin.audit import ACTION_LABELS
    from lms.paths import PACKAGE_DIR

    codes = set()
    for path in Path(PACKAGE_DIR).rglob("*.py"):
        for first in re.findall(r"record_audit\(\s*([^,]+),", path.read_text()):
            codes |= set(re.findall(r'"([a-z_]+\.[a-z_]+)"', first))
    assert codes, "no audit calls found"
    assert not codes - set(ACTION_LABELS), sorted(codes - set(ACTION_LABELS))
