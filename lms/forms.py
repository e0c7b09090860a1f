"""Form helpers shared by the features."""

from collections.abc import Iterable

from wtforms import SelectChoice


def int_or_none(value: object) -> int | None:
    """Coerce a submitted id to int; anything else becomes None (then "not a valid choice")."""
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None


def choices(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """Turn (value, label) pairs into WTForms select choices."""
    return [SelectChoice("" if value is None else value, label) for value, label in pairs]
