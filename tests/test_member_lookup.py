"""The member picker: GET /members/lookup finds members by part of the name or the start of the
工号, bounded and scoped, and every 工号 field offers it while still taking a typed 工号."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from lms.auth.models import Role
from lms.extensions import db
from lms.org.services import LOOKUP_LIMIT, lookup_members
from lms.rotation.models import Blackout
from tests.conftest import login
from tests.factories import make_branch, make_cycle, make_member, make_secretary, make_user


def _fragment(client, q: str, **params) -> str:
    response = client.get("/members/lookup", query_string={"q": q, "fragment": "1", **params})
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("name", ["王喆", "李堃", "𠮷田昇", "Mary-Ann O'Neil", "阿卜杜·热合曼"])
def test_lookup_finds_odd_names_by_part_of_the_name(client, organizer, name):
    member = make_member(name=name, staff_no="Z990001")
    html = _fragment(client, name[1:3])
    assert f'data-staff-no="{member.staff_no}"' in html


def test_lookup_matches_the_start_of_the_staff_no_not_the_middle(client, organizer):
    make_member(name="甲", staff_no="QX1234")
    make_member(name="乙", staff_no="AB1234")
    html = _fragment(client, "qx12")
    assert 'data-staff-no="QX1234"' in html
    assert 'data-staff-no="AB1234"' not in html


def test_lookup_puts_the_exact_staff_no_first(app, organizer):
    make_member(name="前", staff_no="K1000")
    make_member(name="后", staff_no="K100")
    members, more = lookup_members(organizer, "K100")
    assert [m.staff_no for m in members] == ["K100", "K1000"]
    assert more is False


def test_lookup_is_bounded_and_says_there_are_more(client, organizer):
    branch = make_branch()
    for n in range(LOOKUP_LIMIT + 3):
        make_member(name=f"批量{n}", staff_no=f"BULK{n:03d}", branch=branch)
    html = _fragment(client, "批量")
    assert html.count("data-staff-no=") == LOOKUP_LIMIT
    assert "只显示前 10 人" in html


def test_lookup_leaves_out_inactive_members(client, organizer):
    make_member(name="离册者", staff_no="GONE01", active=False)
    assert "GONE01" not in _fragment(client, "离册者")
    assert "没有找到" in _fragment(client, "离册者")


def test_lookup_escapes_wildcards_and_markup(client, organizer):
    make_member(name="张三", staff_no="P0001")
    assert "data-staff-no=" not in _fragment(client, "%")
    html = _fragment(client, "<b>x</b>")
    assert "<b>x</b>" not in html and "&lt;b&gt;" in html


def test_secretary_only_finds_own_branch(client):
    secretary = make_secretary()
    own = make_member(name="本支部人", branch=secretary.member.branch)
    other = make_member(name="外支部人")
    login(client, secretary)
    html = _fragment(client, "支部人")
    assert own.staff_no in html and other.staff_no not in html


def test_trainee_may_not_look_up_members(client):
    login(client, make_user(roles={Role.TRAINEE}))
    assert client.get("/members/lookup?q=张").status_code == 403


def test_lookup_page_without_js_hands_the_staff_no_back(client, organizer):
    member = make_member(name="回填者", staff_no="BACK01")
    html = client.get(
        "/members/lookup",
        query_string={"q": "回填", "back": "/rotation/blackouts?staff_no=OLD"},
    ).get_data(as_text=True)
    assert "查找学员" in html and 'name="q"' in html
    href = html.split('data-staff-no="BACK01"')[0].rsplit('href="', 1)[1].split('"')[0]
    parts = urlsplit(href.replace("&amp;", "&"))
    assert parts.path == "/rotation/blackouts"
    assert parse_qs(parts.query) == {"staff_no": [member.staff_no]}
    # The form it leads back to comes filled in.
    form = client.get("/rotation/blackouts?staff_no=BACK01").get_data(as_text=True)
    assert 'value="BACK01"' in form


def test_lookup_refuses_to_send_back_to_another_site(client, organizer):
    make_member(name="外链", staff_no="EXT01")
    html = client.get(
        "/members/lookup", query_string={"q": "外链", "back": "//evil.example/x"}
    ).get_data(as_text=True)
    assert 'name="back"' not in html
    href = html.split('data-staff-no="EXT01"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert href.startswith("/members/") and "evil" not in href


def test_lookup_in_english(client, organizer):
    html = client.get(
        "/members/lookup", query_string={"q": "nobody-here"}, headers={"Accept-Language": "en"}
    ).get_data(as_text=True)
    assert "Find a member" in html and "No match" in html


@pytest.mark.parametrize(
    "url",
    ["/attendance/hours", "/rotation/blackouts"],
)
def test_staff_no_fields_offer_the_picker(client, organizer, url):
    html = client.get(url).get_data(as_text=True)
    assert 'data-member-lookup="/members/lookup"' in html
    assert 'href="/members/lookup?back=' in html  # the no-JavaScript way


def test_cycle_move_and_roster_offer_the_picker(client, organizer):
    from tests.factories import make_session

    cycle = make_cycle()
    training = make_session()
    assert 'data-member-lookup="/members/lookup"' in client.get(
        f"/rotation/cycles/{cycle.id}?staff_no=PICK1"
    ).get_data(as_text=True)
    roster = client.get(f"/rotation/sessions/{training.id}/enrollments?staff_no=PICK2")
    html = roster.get_data(as_text=True)
    assert 'data-member-target="staff_nos"' in html and ">PICK2</textarea>" in html


def test_a_typed_staff_no_still_works_and_a_name_is_refused(client, organizer):
    member = make_member(name="值班者", staff_no="DUTY01")
    data = {"start_date": "2026-12-01", "end_date": "2026-12-02", "reason": "on_duty", "note": ""}
    response = client.post("/rotation/blackouts", data={**data, "staff_no": "值班者"})
    assert "没有这个工号" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Blackout.id))) == 0
    client.post("/rotation/blackouts", data={**data, "staff_no": " DUTY01 "})
    assert db.session.scalar(sa.select(Blackout.member_id)) == member.id
