"""Form helpers shared by the features."""

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField, widgets
from wtforms.validators import ValidationError

MAX_ID = 2**31 - 1  # the largest id the database's integer columns hold


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


def int_or_none(value: object) -> int | None:
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
