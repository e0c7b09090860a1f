"""One set of rules for text people type or import: forms and importers call the same checks."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from flask_babel import gettext as _
from wtforms.validators import ValidationError

# Control (Cc), format (Cf: bidi overrides, zero-width characters) and lone surrogates (Cs):
# invisible, they reorder or hide what people read and break searches and comparisons.
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs"}
_LINE_BREAKS = "\n\r\t"
EXCERPT_LENGTH = 50
# Spaces people and spreadsheets leave around a value: any Unicode space (ideographic, no-break),
# and the zero-width space and byte-order mark that pasting or a file's first cell brings.
_EDGE_SPACES = re.compile(r"^[\s\u200b\ufeff]+|[\s\u200b\ufeff]+$")
# The encodings an uploaded text file may be in: UTF-8 (with or without a byte-order mark), or
# what Chinese Windows' Excel and Notepad save (GBK, of which GB18030 is the superset).
TEXT_ENCODINGS = ("utf-8-sig", "gb18030")
MAX_STAFF_NO = 32
STAFF_NO_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_\-]*$")


def strip_spaces(text: str) -> str:
    return _EDGE_SPACES.sub("", text)


def decode_text(data: bytes) -> str | None:
    """An uploaded text file's text (see TEXT_ENCODINGS), or None when it is in neither."""
    for encoding in TEXT_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def hidden_character(text: str, multiline: bool = False) -> str | None:
    """The first invisible character of `text` that may not be stored, or None. Line breaks and
    tabs are allowed in multi-line text."""
    for ch in text:
        if multiline and ch in _LINE_BREAKS:
            continue
        if unicodedata.category(ch) in _HIDDEN_CATEGORIES:
            return ch
    return None


def text_problem(label: str, text: str, max_length: int, multiline: bool = False) -> str | None:
    """Why the text of the field `label` cannot be stored, in the user's language, or None."""
    if len(text) > max_length:
        return _("%(field)s太长（最多 %(max)d 个字符）。", field=label, max=max_length)
    if (ch := hidden_character(text, multiline)) is not None:
        if ch in _LINE_BREAKS:
            return _("%(field)s只能写一行（不能有换行符或制表符）。", field=label)
        return _(
            "%(field)s含有不允许的不可见字符（U+%(code)04X），请删除后重试。",
            field=label,
            code=ord(ch),
        )
    return None


def excerpt(value: object, length: int = EXCERPT_LENGTH) -> str:
    """A value quoted back in an error message, cut short: a file may hold a megabyte in a cell."""
    text = str(value)
    return text if len(text) <= length else text[:length] + "…"


class Checked:
    """Field validator from a plain check (text → problem or None), so that a form refuses
    exactly what the importers refuse with the same function: `Checked(name_problem)`."""

    def __init__(self, check: Callable[[str], str | None]) -> None:
        self.check = check

    def __call__(self, form, field) -> None:
        if problem := self.check(field.data or ""):
            raise ValidationError(problem)
