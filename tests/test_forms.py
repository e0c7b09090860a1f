"""The shared form fields and validators in lms/forms.py: each owns one conversion or check, so a
view receives members, aware UTC datetimes and clean 工号 instead of converting by hand."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage, MultiDict
from wtforms.validators import DataRequired, Optional

from lms.forms import (
    EditForm,
    EnumCheckboxesField,
    EnumSelectField,
    LocalDateTimeField,
    RequiredFileField,
    StaffNoField,
    Unique,
)
from lms.org.forms import MemberStaffNoField
from lms.org.models import Category, Gender, Member
from tests.factories import make_member, make_session


class _Form(EditForm):
    class Meta:
        csrf = False

    gender = EnumSelectField(enum=Gender)
    category = EnumSelectField(enum=Category, blank="—")
    categories = EnumCheckboxesField(enum=Category)
    at = LocalDateTimeField()
    staff_no = StaffNoField(validators=[DataRequired(), Unique(Member.staff_no, "taken")])


def _form(app, current=None, **data) -> _Form:
    defaults = {"gender": "female", "staff_no": "F1"}
    with app.test_request_context(method="POST"):
        form = _Form(MultiDict({**defaults, **data}), current=current)
        form.validate()
        return form


def test_enum_select_gives_the_member_and_refuses_anything_else(app):
    form = _form(app, gender="male", category="cadre")
    assert form.gender.data is Gender.MALE and form.category.data is Category.CADRE
    assert not form.errors
    assert _form(app, category="").category.data is None  # the blank option
    bad = _form(app, gender="emperor")
    assert bad.gender.data is None and bad.gender.errors


def test_enum_select_lists_every_member_with_its_label(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        form = _Form(formdata=None, obj=None)
        options = [(choice.value, str(choice.label)) for choice in form.category.choices]
    assert options[0] == ("", "—")
    assert [value for value, _label in options[1:]] == [c.value for c in Category]
    assert options[1] == ("cadre", "Middle-level cadre")


def test_enum_checkboxes_give_members_and_refuse_unknown_values(app):
    form = _form(app, categories=["member", "youth"])
    assert form.categories.data == [Category.MEMBER, Category.YOUTH]
    assert not form.categories.errors
    assert _form(app, categories=["member", "king"]).categories.errors


def test_local_date_time_is_read_in_the_plant_zone_and_kept_in_utc(app):
    form = _form(app, at="2026-03-01T08:30")
    assert form.at.data == datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
    with app.test_request_context():
        shown = _Form(formdata=None, at=datetime(2026, 3, 1, 0, 30, tzinfo=UTC))
        assert shown.at._value() == "2026-03-01 08:30:00"


@pytest.mark.parametrize("typed", ["0001-01-01T00:00", "9999-12-31T23:59", "yesterday"])
def test_local_date_time_refuses_slips_and_nonsense(app, typed):
    form = _form(app, at=typed)
    assert form.at.data is None and form.at.errors


def test_staff_number_is_trimmed_and_checked_as_the_roster_checks_it(app):
    assert _form(app, staff_no="\u3000A-100 \ufeff").staff_no.data == "A-100"
    assert not _form(app, staff_no=" A-100 ").errors
    assert _form(app, staff_no="../x").staff_no.errors
    assert _form(app, staff_no="x" * 33).staff_no.errors


def test_a_staff_number_to_look_up_is_trimmed_and_bounded_only(app):
    class Lookup(FlaskForm):
        class Meta:
            csrf = False

        staff_no = StaffNoField(lookup=True)

    with app.test_request_context(method="POST"):
        form = Lookup(MultiDict({"staff_no": "\u3000值班者 "}))
        assert form.validate() and form.staff_no.data == "值班者"  # the lookup says "no such 工号"
        assert not Lookup(MultiDict({"staff_no": "x" * 33})).validate()


def test_a_member_staff_number_resolves_the_member_or_says_there_is_none(app):
    class Pick(FlaskForm):
        class Meta:
            csrf = False

        staff_no = MemberStaffNoField(validators=[Optional()])

    member = make_member(staff_no="PICK-1")
    with app.test_request_context(method="POST"):
        found = Pick(MultiDict({"staff_no": " PICK-1\u3000"}))
        assert found.validate() and found.staff_no.member == member
        unknown = Pick(MultiDict({"staff_no": "值班者"}))
        assert not unknown.validate() and unknown.staff_no.member is None
        assert [str(e) for e in unknown.staff_no.errors] == ["没有这个工号的学员。"]
        empty = Pick(MultiDict({"staff_no": ""}))
        assert empty.validate() and empty.staff_no.member is None
        too_long = Pick(MultiDict({"staff_no": "x" * 33}))
        assert not too_long.validate() and len(too_long.staff_no.errors) == 1  # not looked up


def test_unique_refuses_a_value_another_row_holds_but_not_the_row_being_edited(app):
    member = make_member(staff_no="U-1")
    assert _form(app, staff_no="U-1").staff_no.errors == ["taken"]
    assert not _form(app, staff_no="U-1", current=member).errors
    assert not _form(app, staff_no="U-2").errors


def test_unique_leaves_the_source_aside_only_when_told(app):
    """`current` defaults to the `obj` the form was filled from: a copy form passes neither."""
    member = make_member(staff_no="U-3")
    with app.test_request_context(method="POST"):
        edited = _Form(MultiDict({"gender": "male", "staff_no": "U-3"}), obj=member)
        assert edited.current is member and edited.validate()
        copied = _Form(MultiDict({"gender": "male", "staff_no": "U-3"}))
        assert copied.current is None and not copied.validate()


class _UploadForm(FlaskForm):
    class Meta:
        csrf = False

    file = RequiredFileField(message="choose one")


def test_required_file_refuses_a_missing_or_empty_upload(app):
    for data in ({}, {"file": FileStorage(io.BytesIO(b""), filename="")}):
        with app.test_request_context(method="POST", data=data):
            form = _UploadForm()
            assert not form.validate() and form.file.errors == ["choose one"]
    upload = {"file": FileStorage(io.BytesIO(b"x"), filename="a.xlsx")}
    with app.test_request_context(method="POST", data=upload, content_type="multipart/form-data"):
        assert _UploadForm().validate()


def test_attendance_import_without_a_file_says_so(client, organizer):
    session = make_session()
    response = client.post(f"/attendance/sessions/{session.id}/import", data={})
    assert response.status_code == 200
    assert "请选择要导入的文件" in response.get_data(as_text=True)
