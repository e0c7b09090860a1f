"""Enums that carry their own translatable label, so no parallel label dict can drift from them."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Self

from flask_babel import LazyString


class LabelledEnum(enum.StrEnum):
    """A StrEnum whose members are declared `NAME = "value", _l("标签")`.

    The value is what the database stores and what comparisons and URLs use, exactly as with a
    plain StrEnum; `label` is the member's name in the user's language.
    """

    lazy_label: LazyString  # for labels made at import time (form fields), before any request

    def __new__(cls, value: object, label: LazyString | None = None) -> Self:
        # A type checker reads this as the signature of `Category("cadre")`, the lookup by value,
        # which never runs it: hence `label` is optional here, though every member must give one.
        if label is None:
            raise TypeError(f"{cls.__name__}.{value}: a labelled enum member needs a label")
        member = str.__new__(cls, value)
        member._value_ = str(value)
        member.lazy_label = label
        return member

    @property
    def label(self) -> str:
        return str(self.lazy_label)

    @classmethod
    def choices(cls, members: Iterable[Self] | None = None) -> list[tuple[str, LazyString]]:
        """(value, lazy label) pairs for a select, in declaration order (or `members`' order)."""
        return [(m.value, m.lazy_label) for m in (cls if members is None else members)]
