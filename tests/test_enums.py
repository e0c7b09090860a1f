"""Labelled enums: the database keeps the same values as before, people read the label in their
language, and no enum member is left without one."""

from __future__ import annotations

import sqlalchemy as sa

import lms.rotation.planner
from lms.auth.models import Role
from lms.catalog.models import CourseFormat
from lms.enums import LabelledEnum
from lms.extensions import db
from lms.org.models import Category, Member
from lms.sessions.models import EnrollmentStatus, SessionStatus
from tests.factories import make_course, make_member


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_the_stored_values_are_the_values_the_database_already_holds():
    # The values the migrations' CHECK constraints name: changing one would need a migration.
    assert [c.value for c in Category] == [
        "cadre",
        "party_worker",
        "member",
        "probationary",
        "activist",
        "league_member",
        "youth",
    ]
    assert [s.value for s in SessionStatus] == [
        "planned",
        "open",
        "in_progress",
        "completed",
        "cancelled",
    ]
    assert [r.value for r in Role] == ["trainee", "lecturer", "secretary", "organizer", "admin"]
    assert Member.__table__.c.category.type.enums == [c.value for c in Category]


def test_a_member_is_written_and_read_as_its_plain_value(app):
    member = make_member(category=Category.CADRE)
    course = make_course()
    stored = db.session.execute(
        sa.text("SELECT category FROM members WHERE id = :id"), {"id": member.id}
    ).scalar_one()
    assert stored == "cadre"
    fmt = db.session.execute(
        sa.text("SELECT format FROM courses WHERE id = :id"), {"id": course.id}
    ).scalar_one()
    assert fmt == course.format.value
    db.session.expire_all()
    assert db.session.get(Member, member.id).category is Category.CADRE


def test_members_compare_and_look_up_as_strings():
    assert Category("cadre") is Category.CADRE
    assert Category.CADRE == "cadre" and f"{Category.CADRE}" == "cadre"
    assert {"completed": 1}[EnrollmentStatus.COMPLETED] == 1


def test_labels_are_chinese_by_default(app):
    with app.test_request_context():
        assert CourseFormat.PARTY_LECTURE.label == "党课"
        assert EnrollmentStatus.COMPLETED.label == "已结业"
        assert SessionStatus.COMPLETED.label == "已结束"


def test_labels_follow_the_users_language(app):
    # A separate test: Flask-Babel keeps the first locale it found for the app context.
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert Category.CADRE.label == "Middle-level cadre"
        assert Role.ADMIN.label != "系统管理员"


def test_every_labelled_enum_labels_every_member(app):
    enums = _subclasses(LabelledEnum)
    assert lms.rotation.planner.Reason in enums and len(enums) >= 19
    with app.test_request_context():
        for enum_cls in enums:
            for member in enum_cls:
                assert member.label and member.label != member.value, member
            assert enum_cls.choices() == [(m.value, m.lazy_label) for m in enum_cls]


def test_a_page_shows_the_label_not_the_value(client, organizer):
    course = make_course()
    html = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert course.format.label in html
