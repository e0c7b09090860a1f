"""Members for organizers and secretaries: list, search, filters, detail, edit, deactivate."""

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lms.audit.models import AuditLog
from lms.auth.models import Role
from lms.extensions import db
from lms.org.models import Category, Member
from lms.org.services import MEMBER_FIELDS
from tests.conftest import login
from tests.factories import (
    make_branch,
    make_department,
    make_member,
    make_secretary,
    make_shift,
    make_user,
)

RARE_NAMES = ["李喆", "陈堃", "赵昇", "孙玥", "王𠮷祥"]


def _organizer(client):
    return login(client, make_user(roles={Role.ORGANIZER}))


def _form(branch, **overrides):
    data = {
        "staff_no": "200001",
        "name": "王𠮷祥",
        "gender": "male",
        "department_id": str(branch.department_id),
        "branch_id": str(branch.id),
        "shift_id": "",
        "category": "member",
        "joined_party_on": "2012-07-01",
    }
    data.update(overrides)
    return data


def test_search_finds_rare_names_exactly(client):
    branch = make_branch()
    for index, name in enumerate(RARE_NAMES):
        make_member(name=name, staff_no=f"R{index}", branch=branch)
    make_member(name="张三", staff_no="R9", branch=branch)
    _organizer(client)
    for name in RARE_NAMES:
        html = client.get("/members/", query_string={"q": name}).get_data(as_text=True)
        assert name in html
        assert "张三" not in html
    html = client.get("/members/", query_string={"q": "𠮷"}).get_data(as_text=True)
    assert "王𠮷祥" in html and "李喆" not in html


def test_search_by_staff_no_and_wildcards_are_literal(client):
    make_member(name="甲", staff_no="A100")
    make_member(name="乙", staff_no="B200")
    _organizer(client)
    assert "甲" in client.get("/members/?q=A10").get_data(as_text=True)
    html = client.get("/members/?q=%25").get_data(as_text=True)
    assert "甲" not in html and "没有符合条件的学员" in html


def test_filters_by_branch_department_shift_category_and_status(client):
    one, two = make_branch(), make_branch()
    shift = make_shift()
    make_member(name="一支部", branch=one, shift=shift, category=Category.CADRE)
    make_member(name="二支部", branch=two, category=Category.ACTIVIST)
    make_member(name="停用者", branch=one, active=False)
    _organizer(client)

    def names(**query):
        html = client.get("/members/", query_string=query).get_data(as_text=True)
        return {n for n in ("一支部", "二支部", "停用者") if n in html}

    assert names(branch_id=one.id) == {"一支部"}
    assert names(department_id=two.department_id) == {"二支部"}
    assert names(shift_id=shift.id) == {"一支部"}
    assert names(category="activist") == {"二支部"}
    assert names(active="inactive") == {"停用者"}
    assert names(active="all", branch_id=one.id) == {"一支部", "停用者"}


def test_pagination(client):
    branch = make_branch()
    for index in range(55):
        make_member(name=f"成员{index:02d}", staff_no=f"P{index:03d}", branch=branch)
    _organizer(client)
    first = client.get("/members/").get_data(as_text=True)
    second = client.get("/members/?page=2").get_data(as_text=True)
    assert "P000" in first and "P054" not in first
    assert "P054" in second and "P000" not in second
    assert client.get("/members/?page=999").status_code == 200
    assert client.get("/members/?page=abc").status_code == 200


def test_secretary_sees_only_own_branch_read_only(client):
    own, other = make_branch(), make_branch()
    secretary = make_secretary(own)
    make_member(name="本支部", branch=own)
    outsider = make_member(name="外支部", branch=other)
    login(client, secretary)
    html = client.get("/members/").get_data(as_text=True)
    assert "本支部" in html and "外支部" not in html
    html = client.get("/members/", query_string={"branch_id": other.id}).get_data(as_text=True)
    assert "外支部" not in html
    assert client.get(f"/members/{outsider.id}").status_code == 403
    assert "添加学员" not in html
    export = client.get("/members/export.xlsx")
    assert export.status_code == 200
    import io

    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(export.data)).active.iter_rows(values_only=True))
    assert {row[1] for row in rows[1:]} == {"本支部", secretary.member.name}


def test_trainee_sees_own_record_only(client):
    member = make_member(name="本人")
    other = make_member(name="他人")
    login(client, make_user(member=member))
    assert "本人" in client.get(f"/members/{member.id}").get_data(as_text=True)
    assert client.get(f"/members/{other.id}").status_code == 403
    assert client.get("/members/").status_code == 403


def test_create_member_with_rare_name(client):
    branch = make_branch()
    _organizer(client)
    response = client.post("/members/new", data=_form(branch))
    assert response.status_code == 302
    member = db.session.scalar(db.select(Member).where(Member.staff_no == "200001"))
    assert member.name == "王𠮷祥"
    assert member.joined_party_on == date(2012, 7, 1)
    assert db.session.scalar(db.select(AuditLog).where(AuditLog.action == "member.created"))


def test_create_refuses_bad_input_and_changes_nothing(client):
    branch = make_branch()
    elsewhere = make_department()
    make_member(staff_no="DUP1", branch=branch)
    _organizer(client)
    cases = [
        ({"staff_no": "DUP1"}, "该工号已存在"),
        ({"staff_no": "../x"}, "工号只能包含"),
        ({"name": "   "}, "必填"),
        ({"name": "名" * 65}, "64"),
        ({"name": "<script>"}, "不允许的字符"),
        ({"department_id": str(elsewhere.id)}, "不属于所选部门"),
        ({"joined_party_on": "1900-01-01"}, "不在合理范围"),
        ({"joined_party_on": "not-a-date"}, "有效的日期"),
        ({"category": "emperor"}, "有效的选择"),
        ({"branch_id": "999999"}, "有效的选择"),
    ]
    before = db.session.scalar(db.select(db.func.count()).select_from(Member))
    for overrides, message in cases:
        response = client.post("/members/new", data=_form(branch, **overrides))
        assert response.status_code == 200, overrides
        assert message in response.get_data(as_text=True), overrides
    assert db.session.scalar(db.select(db.func.count()).select_from(Member)) == before


def test_edit_member_records_changes(client):
    branch = make_branch()
    member = make_member(name="旧名", branch=branch, staff_no="E1")
    _organizer(client)
    response = client.post(
        f"/members/{member.id}/edit", data=_form(branch, staff_no="E1", name="新名")
    )
    assert response.status_code == 302
    assert member.name == "新名"
    entry = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "member.updated"))
    assert entry.details["name"] == ["旧名", "新名"]


def test_deactivate_and_reactivate_never_delete(client):
    member = make_member()
    _organizer(client)
    client.post(f"/members/{member.id}/active?to=off")
    assert member.active is False
    assert db.session.get(Member, member.id) is not None
    client.post(f"/members/{member.id}/active?to=on")
    assert member.active is True
    actions = db.session.scalars(db.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-2:] == ["member.deactivated", "member.activated"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from(
            ["q", "page", "branch_id", "department_id", "shift_id", "category", "active"]
        ),
        st.text(max_size=30),
    )
)
def test_member_list_never_fails_on_odd_parameters(client, params):
    login(client, make_user(roles={Role.ORGANIZER}))
    response = client.get("/members/", query_string=params)
    expected = 400 if any("\x00" in k + v for k, v in params.items()) else 200
    assert response.status_code == expected


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.fixed_dictionaries(
        {},
        optional={key: st.text(max_size=80) for key in MEMBER_FIELDS},
    )
)
def test_member_form_never_fails_on_odd_input(client, data):
    login(client, make_user(roles={Role.ORGANIZER}))
    before = db.session.scalar(db.select(db.func.count()).select_from(Member))
    response = client.post("/members/new", data=data)
    expected = 400 if any("\x00" in v for v in data.values()) else 200  # never valid enough
    assert response.status_code == expected
    assert db.session.scalar(db.select(db.func.count()).select_from(Member)) == before


@pytest.mark.parametrize("name", ["钱\u202e强军", "王\u200b五", "赵\u2060六", "孙\u0007七"])
def test_form_refuses_hidden_characters_in_names_as_the_roster_does(client, name):
    branch = make_branch()
    _organizer(client)
    response = client.post("/members/new", data=_form(branch, name=name))
    assert response.status_code == 200
    assert "姓名含有不允许的不可见字符" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Member)) == 0


@pytest.mark.parametrize("name", ["张喆", "李堃", "王昇", "赵玥", "𠮷田", "阿卜杜拉·买买提"])
def test_form_keeps_legitimate_names(client, name):
    branch = make_branch()
    _organizer(client)
    assert client.post("/members/new", data=_form(branch, name=name)).status_code == 302
    assert db.session.scalar(db.select(Member.name)) == name


def test_form_sets_the_committee_flag(client):
    branch = make_branch()
    _organizer(client)
    client.post("/members/new", data=_form(branch, committee_member="y"))
    member = db.session.scalar(db.select(Member))
    assert member.committee_member is True
    assert "支部委员" in client.get(f"/members/{member.id}/edit").get_data(as_text=True)
    client.post(f"/members/{member.id}/edit", data=_form(branch))
    db.session.refresh(member)
    assert member.committee_member is False
