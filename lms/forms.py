"""Form helpers shared by the features."""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, SelectChoice, SelectMultipleField, SubmitField, widgets
from wtforms.validators import ValidationError

MAX_ID = 2**31 - 1  # the largest id the database's integer columns hold
# Dates a timetable may use: far enough either way for any real plan, and far from the ends of
# the calendar, where "the next day" or a time zone's offset no longer exists.
FIRST_SCHEDULE_DATE, LAST_SCHEDULE_DATE = date(2000, 1, 1), date(2100, 12, 31)


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


def picked_staff_no() -> str:
    """On a GET, the 工号 the member lookup page hands back (?staff_no=…), to fill a form with."""
    if request.method != "GET":
        return ""
    return request.args.get("staff_no", "").strip()[:32]
