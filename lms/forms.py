"""Form helpers shared by the features."""

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateTimeLocalField,
    DecimalField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    widgets,
)
from wtforms.validators import Length, Regexp, ValidationError

from lms.clock import local_zone
from lms.enums import LabelledEnum
from lms.extensions import db
from lms.text import MAX_STAFF_NO, STAFF_NO_PATTERN, strip_spaces

MAX_ID = 2**31 - 1  # the largest id the database's integer columns hold
# Dates a timetable may use: far enough either way for any real plan, and far from the ends of
# the calendar, where "the next day" or a time zone's offset no longer exists.
FIRST_SCHEDULE_DATE, LAST_SCHEDULE_DATE = date(2000, 1, 1), date(2100, 12, 31)
# WTForms' own words (and translation) for an unknown choice, so every select says the same.
WTFORMS_NOT_A_CHOICE = "Not a valid choice."


class ConfirmForm(FlaskForm):
    """An empty form whose only job is carrying the CSRF token of a button."""

    submit = SubmitField(_l("确定"))


class NotBefore:
    """Field validator: this date may not be earlier than the form's date field `start`."""

    def __init__(self, start: str) -> None:
        self.start = start

    def __call__(self, form: FlaskForm, field) -> None:
        start = form[self.start].data
        if field.data is not None and start is not None and field.data < start:
            raise ValidationError(_l("结束日期不能早于开始日期。"))


def bounded_int(value: str) -> int:
    """For `request.args.get(..., type=bounded_int)`: a whole number the database can take, or
    ValueError (the caller's default is used), so an absurd page or id never reaches SQL."""
    number = int(value)
    if not 0 <= number <= MAX_ID:
        raise ValueError("out of range")
    return number


def int_or_none(value: Any) -> int | None:
    """Coerce a submitted id to int; anything else becomes None (then "not a valid choice")."""
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None


def choices(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """Turn (value, label) pairs into WTForms select choices."""
    return [SelectChoice("" if value is None else value, label) for value, label in pairs]


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes; an unknown value is refused clearly."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form: FlaskForm) -> None:
        known = {str(choice.value) for choice in self.choices}
        if any(str(value) not in known for value in self.data or []):
            raise ValidationError(_l("所选项无效。"))


class SchedulableDate:
    """Field validator: a date between 2000 and 2100 (see FIRST/LAST_SCHEDULE_DATE)."""

    def __call__(self, form: FlaskForm, field) -> None:
        if field.data is not None and not FIRST_SCHEDULE_DATE <= field.data <= LAST_SCHEDULE_DATE:
            raise ValidationError(_l("日期须在 2000 年至 2100 年之间。"))


class HoursField(DecimalField):
    """学时, stored with one decimal: a finite number with at most one decimal, refused clearly
    otherwise (NaN, Infinity, 1e27, 1.25) before any range check sees it."""

    data: Decimal | None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, places=1, **kwargs)

    def process_formdata(self, valuelist) -> None:
        super().process_formdata(valuelist)
        if self.data is None:
            return
        if not self.data.is_finite() or self.data.adjusted() > 6:
            self.data = None
            raise ValueError(_l("请输入有效的数字。"))
        if self.data != self.data.quantize(Decimal("0.1")):  # safe: at most 7 integer digits
            self.data = None
            raise ValueError(_l("学时最多保留一位小数。"))


class EnumSelectField(SelectField):
    """A select of a LabelledEnum's members, labelled by the enum: `data` is the member, or None
    for the blank option (offered when `blank` gives its label); any other value is refused."""

    def __init__(
        self,
        label=None,
        validators=None,
        *,
        enum: type[LabelledEnum],
        members: Iterable[LabelledEnum] | None = None,
        blank=None,
        **kwargs,
    ) -> None:
        self.enum = enum
        pairs: list[tuple[object, object]] = list(enum.choices(members))
        if blank is not None:
            pairs.insert(0, (None, blank))
        super().__init__(label, validators, coerce=self._member, choices=choices(pairs), **kwargs)

    def _member(self, value: object) -> LabelledEnum | None:
        if value is None or value == "":
            return None
        return self.enum(value)  # ValueError for an unknown value: see process_formdata

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.gettext(WTFORMS_NOT_A_CHOICE)) from None


class EnumCheckboxesField(CheckboxesField):
    """Some of a LabelledEnum's members as checkboxes; `data` is a list of members."""

    def __init__(
        self,
        label=None,
        validators=None,
        *,
        enum: type[LabelledEnum],
        members: Iterable[LabelledEnum] | None = None,
        **kwargs,
    ) -> None:
        self.enum = enum
        super().__init__(
            label, validators, coerce=enum, choices=choices(enum.choices(members)), **kwargs
        )

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("所选项无效。")) from None


class LocalDateTimeField(DateTimeLocalField):
    """A date and time typed in the plant's zone (see lms/clock.py); `data` is an aware UTC
    datetime, and one from the database is shown back in the plant's zone. Years outside
    2000–2100 are refused: they are typing slips, and at the calendar's ends the zone's
    offset would overflow."""

    def __init__(self, label=None, validators=None, **kwargs) -> None:
        super().__init__(label, validators, tz=local_zone, **kwargs)

    def process_formdata(self, valuelist) -> None:
        super().process_formdata(valuelist)
        # WTForms leaves `data` untyped: here it is a datetime in the plant's zone, or None.
        moment: datetime | None = self.data  # type: ignore[has-type]
        if moment is None:
            return
        if not FIRST_SCHEDULE_DATE <= moment.date() <= LAST_SCHEDULE_DATE:
            self.data = None
            raise ValueError(
                _l(
                    "时间须在 %(first)d 年至 %(last)d 年之间。",
                    first=FIRST_SCHEDULE_DATE.year,
                    last=LAST_SCHEDULE_DATE.year,
                )
            )
        self.data = moment.astimezone(UTC)


class StaffNoField(StringField):
    """A 工号, trimmed as the roster import trims it. A new one is checked as the import checks
    it (letters, digits, _ and -); one that names an existing member (`lookup=True`) is only
    bounded, so that whatever else was typed, a name say, is answered "no such 工号"."""

    def __init__(self, label=None, validators=None, *, lookup: bool = False, **kwargs) -> None:
        checks = [*(validators or []), Length(max=MAX_STAFF_NO)]
        if not lookup:
            message = _l("工号只能包含字母、数字、下划线和连字符。")
            checks.append(Regexp(STAFF_NO_PATTERN, message=message))
        super().__init__(
            label if label is not None else _l("工号"),
            checks,
            filters=[lambda value: strip_spaces(value) if isinstance(value, str) else value],
            **kwargs,
        )


class RequiredFileField(FileField):
    """An uploaded file that must be given; refused with `message` when none is chosen."""

    def __init__(self, label=None, validators=None, message=None, **kwargs) -> None:
        required = FileRequired(message or _l("请选择要导入的文件。"))
        super().__init__(label, [required, *(validators or [])], **kwargs)


class Unique:
    """Field validator: no other row holds this value in `column`. The row the form edits (the
    form's `current`, see EditForm) is left aside."""

    def __init__(self, column: sa.orm.InstrumentedAttribute, message) -> None:
        self.column = column
        self.message = message

    def __call__(self, form: FlaskForm, field) -> None:
        if field.data is None or field.data == "":
            return
        key = sa.inspect(self.column.class_).primary_key[0]
        stmt = sa.select(key).where(self.column == field.data)
        current = getattr(form, "current", None)
        if current is not None:
            stmt = stmt.where(key != getattr(current, key.key))
        if db.session.scalar(stmt.limit(1)) is not None:
            raise ValidationError(self.message)


class EditForm(FlaskForm):
    """A form that creates or edits one row: `current` is the row being edited (by default the
    `obj` the form was filled from; None when creating), so Unique leaves it aside."""

    def __init__(self, *args, current=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.current = current if current is not None else kwargs.get("obj")


def picked_staff_no() -> str:
    """On a GET, the 工号 the member lookup page hands back (?staff_no=…), to fill a form with."""
    if request.method != "GET":
        return ""
    return strip_spaces(request.args.get("staff_no", ""))[:MAX_STAFF_NO]
