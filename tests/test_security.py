"""Security suite: every GET route fuzzed with odd query strings (never a 500), and XSS payloads
in free-text fields rendered escaped wherever they are shown."""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms.fields.core import UnboundField

import lms
from lms.admin.forms import SearchForm
from lms.auth.models import Role
from lms.catalog.forms import CatalogFilterForm
from lms.certificates.models import Certificate, CertificateStatus
from lms.extensions import db
from lms.org.forms import MemberFilterForm
from lms.rotation.models import Blackout, BlackoutReason
from tests.conftest import login
from tests.factories import (
    make_bank,
    make_branch,
    make_course,
    make_cycle,
    make_department,
    make_enrollment,
    make_lesson,
    make_material,
    make_member,
    make_question,
    make_quiz,
    make_session,
    make_theme,
    make_user,
)
from tests.figures import count
from tests.test_access_matrix import CASES, world  # noqa: F401  (the world fixture)

pytestmark = pytest.mark.security

LMS = Path(lms.__file__).parent


def _read_in_code(source: str) -> set[str]:
    """Names the app reads with request.args / request.form .get or .getlist."""
    code = "\n".join(path.read_text(encoding="utf-8") for path in LMS.rglob("*.py"))
    return set(re.findall(rf'request\.{source}\.(?:get|getlist)\(\s*"(\w+)"', code))


def _fields(forms: list[type[FlaskForm]]) -> set[str]:
    return {
        name
        for form in forms
        for name in dir(form)
        if isinstance(getattr(form, name, None), UnboundField)
    } - {"csrf_token"}


def _all_forms(base: type = FlaskForm) -> list[type[FlaskForm]]:
    for module in pkgutil.walk_packages(lms.__path__, "lms."):
        if module.name.endswith(("forms", "views")):
            importlib.import_module(module.name)
    found = []
    for form in base.__subclasses__():
        if form.__module__.startswith("lms."):
            found.append(form)
        found += _all_forms(form)
    return found


# Every query parameter the app reads: request.args names and the fields of the filter forms.
GET_FORMS = [CatalogFilterForm, MemberFilterForm, SearchForm]
PARAMS = sorted(_read_in_code("args") | _fields(GET_FORMS))
# Every form field of the app and every request.form name: fields of all FlaskForm subclasses.
FORM_FIELDS = sorted(_read_in_code("form") | _fields(_all_forms()))


def test_the_fuzzed_names_are_the_apps_own():
    """The lists come from the code, so a new parameter or field is fuzzed without anyone
    remembering to add it (a regression would show as these lists shrinking)."""
    assert {"q", "page", "month", "next", "status", "category"} <= set(PARAMS)
    assert {"title", "reason", "staff_nos", "html", "css", "capacity", "start_date"} <= set(
        FORM_FIELDS
    )
    assert len(FORM_FIELDS) > 60


NASTY = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "' OR 1=1 --",
            "1; DROP TABLE members",
            "%",
            "_",
            "\\",
            "<script>alert(1)</script>",
            "9" * 40,
            "-1",
            "0",
            "2026-13",
            "../../etc/passwd",
            "null",
        ]
    ),
)
GET_CASES = [c for c in CASES if c.method == "GET"]


@pytest.mark.parametrize("role", ["trainee", "organizer"])
@pytest.mark.parametrize("case", GET_CASES, ids=lambda c: c.endpoint)
@settings(
    max_examples=int(os.environ.get("LMS_FUZZ_EXAMPLES", "6")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(params=st.dictionaries(st.sampled_from(PARAMS), NASTY, max_size=3))
def test_odd_query_strings_never_cause_a_500(client, world, case, role, params):  # noqa: F811
    login(client, world.users[role])
    url = case.url(world).split("?")[0]
    response = client.get(url, query_string=params)
    assert response.status_code < 500, (url, params, response.status_code)
    count("security: GET query strings fuzzed")


PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_free_text_renders_escaped_everywhere(client):
    organizer = make_user(roles={Role.ORGANIZER, Role.ADMIN})
    member = make_member(name=PAYLOAD[:60])
    theme = make_theme(PAYLOAD[:32])
    course = make_course(title=PAYLOAD, description=PAYLOAD, theme=theme)
    session = make_session(title=PAYLOAD[:64], venue=PAYLOAD)
    lesson = make_lesson(session=session, course=course, room=PAYLOAD[:64])
    make_enrollment(session, member).leave_reason = PAYLOAD
    material = make_material(uploader=organizer, lesson=lesson)
    material.title = PAYLOAD
    bank = make_bank(PAYLOAD[:64])
    question = make_question(bank, stem=PAYLOAD, explanation=PAYLOAD, source=PAYLOAD)
    quiz = make_quiz([question], session=session, title=PAYLOAD, description=PAYLOAD)
    db.session.add(
        Blackout(
            member_id=member.id,
            start_date=date(2026, 1, 1),
            end_date=date(2026, 1, 2),
            reason=BlackoutReason.OTHER,
            note=PAYLOAD[:200],
        )
    )
    department = make_department(PAYLOAD[:32])
    make_branch(PAYLOAD[:64], department=department)
    cycle = make_cycle(name=PAYLOAD[:64])
    someone = make_user(username="xss-" + str(member.id))
    someone.display_name = PAYLOAD[:64]
    certificate = Certificate(
        serial="XSS-1",
        member_id=member.id,
        session_id=session.id,
        name=member.name,
        hours=Decimal(1),
        issued_on=date(2026, 11, 27),
        signatory=PAYLOAD[:64],
        verify_token="xss-token",
        pdf_sha256="0" * 64,
        status=CertificateStatus.REVOKED,
        revoke_reason=PAYLOAD,
    )
    db.session.add(certificate)
    db.session.flush()
    login(client, organizer)
    pages = [
        "/members/",
        f"/rotation/cycles/{cycle.id}",
        "/rotation/cycles/",
        "/admin/users",
        f"/admin/users/{someone.id}",
        "/verify/xss-token",
        "/members/?q=" + PAYLOAD[:10],
        f"/members/{member.id}",
        "/courses/",
        f"/courses/{course.id}",
        "/courses/themes",
        "/sessions/",
        f"/sessions/{session.id}",
        f"/sessions/lessons/{lesson.id}",
        f"/materials/{material.id}",
        f"/quizzes/banks/{bank.id}",
        f"/quizzes/questions/{question.id}",
        f"/quizzes/{quiz.id}",
        "/quizzes/",
        f"/rotation/sessions/{session.id}/enrollments",
        "/rotation/blackouts",
        "/sessions/calendar?month=2026-11",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert PAYLOAD not in html and "onerror=alert(1)>" not in html, url
        assert "&lt;script&gt;" in html, url  # it is shown, as text
    count("security: pages checked to show XSS payloads escaped", len(pages))


POST_CASES = [c for c in CASES if c.method == "POST"]


@pytest.mark.parametrize("case", POST_CASES, ids=lambda c: c.endpoint)
@settings(
    max_examples=int(os.environ.get("LMS_FUZZ_EXAMPLES", "5")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(data=st.data())
def test_odd_form_posts_never_cause_a_500(client, world, case, data):  # noqa: F811
    login(client, world.users["organizer"])
    # Worked out once: an earlier example may have deleted the object the URL names.
    known = world.__dict__.setdefault("_posts", {})
    if case.endpoint not in known:
        url = case.url(world)
        known[case.endpoint] = url, _fields_on_page(client, url)
    url, own = known[case.endpoint]
    # The form's own fields where it has a page of its own, mixed with every other field.
    names = st.sampled_from(FORM_FIELDS)
    if own:
        names = st.one_of(st.sampled_from(own), st.sampled_from(own), names)
    form = data.draw(st.dictionaries(names, NASTY, max_size=6), label="form")
    with client.session_transaction() as session:
        session.pop("_flashes", None)  # an earlier example's redirect was not followed
    before = _snapshot()
    response = client.post(url, data=form)
    assert response.status_code < 500, (case.endpoint, form, response.status_code)
    with client.session_transaction() as session:
        warned = any(category != "success" for category, _ in session.get("_flashes", []))
    # Every form POST that succeeds redirects; a 200 is the form shown again with its errors.
    refused = (
        response.status_code >= 400
        or response.status_code == 200
        or (response.status_code == 302 and warned)
    )
    if refused:  # a refused request changed nothing, not even half of it
        assert _snapshot() == before, (case.endpoint, form, response.status_code)
        count("security: fuzzed POSTs refused and checked to have changed nothing")
    count("security: POST forms fuzzed")


def _fields_on_page(client, url: str) -> list[str]:
    """The input names of the form page at `url`, if it answers GET with one."""
    page = client.get(url)
    if page.status_code != 200:
        return []
    return sorted(set(re.findall(r'name="(\w+)"', page.get_data(as_text=True))) - {"csrf_token"})


def test_the_snapshot_sees_any_change(client):
    before = _snapshot()
    make_theme("新主题")
    assert _snapshot() != before


def _snapshot() -> dict[str, int]:
    """Every table's rows, hashed, to tell whether a request changed anything at all."""
    return {
        table.name: hash(tuple(sorted(map(repr, db.session.execute(sa.select(table))))))
        for table in db.metadata.sorted_tables
    }


@pytest.mark.parametrize(
    "url",
    [
        "/sessions/?page=9999999999999999999999999999",
        "/courses/?page=-5",
        "/members/?page=99999999999999999999",
        "/sessions/99999999999999999999999",
        "/courses/99999999999999999999999/edit",
        "/quizzes/banks/1?category=99999999999999999999999",
        "/materials/versions/99999999999999999999999/file",
    ],
)
def test_absurd_numbers_are_not_found_or_ignored(client, url):
    login(client, make_user(roles={Role.ORGANIZER}))
    assert client.get(url).status_code in (200, 404)


def test_absurd_positions_and_sessions_in_bodies(client):
    from lms.quizzes import attempts as quiz_attempts

    organizer = make_user(roles={Role.ORGANIZER})
    trainee = make_user(roles={Role.TRAINEE}, member=make_member())
    attempt = quiz_attempts.start_attempt(make_quiz(), trainee.member)
    login(client, trainee)
    response = client.post(
        f"/quizzes/attempts/{attempt.id}/answer", json={"position": 10**30, "response": None}
    )
    assert response.status_code == 404
    login(client, organizer)
    enrollment = make_enrollment(make_session(), make_member())
    response = client.post(
        f"/rotation/enrollments/{enrollment.id}/makeup", data={"session_id": str(10**30)}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("url", "make", "shown"),
    [
        ("/members/", lambda text: make_member(name=text), lambda m: m.name),
        ("/courses/", lambda text: make_course(title=text), lambda c: c.title),
        ("/admin/users", lambda text: make_user(username=text), lambda u: u.username),
    ],
    ids=["members", "courses", "users"],
)
def test_search_boxes_take_injection_and_wildcards_literally(client, url, make, shown):
    """A search is for the text as typed: SQL in it is text, % and _ are not wildcards."""
    login(client, make_user(roles={Role.ORGANIZER, Role.ADMIN}))
    underscore, percent, plain = make("quiet_member"), make("rate100%full"), make("plainname")
    for query, expected in [
        ("' OR 1=1 --", set()),
        ("1; DROP TABLE members", set()),
        ("%", {percent}),
        ("_", {underscore}),
        ("plain", {plain}),
    ]:
        html = client.get(url, query_string={"q": query}).get_data(as_text=True)
        found = {row for row in (underscore, percent, plain) if shown(row) in html}
        assert found == expected, (url, query, found)
    count("security: injection and wildcard searches checked", 5)
