"""Local time for the plant: times are stored in UTC and shown in the configured zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(local_zone())


def from_local(day: date, clock: time) -> datetime:
    """The UTC instant of a wall-clock time on a day in the plant's zone."""
    return datetime.combine(day, clock, tzinfo=local_zone()).astimezone(UTC)


def local_today() -> date:
    return datetime.now(local_zone()).date()
