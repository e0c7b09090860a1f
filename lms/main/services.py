"""Telling members what changed for them: one in-app notification per member and event."""

from __future__ import annotations

from collections.abc import Iterable

from lms.extensions import db
from lms.main.models import Notification


def notify_members(member_ids: Iterable[int], kind: str, **params) -> int:
    """Add a notification of `kind` for each member; flushes nothing (the caller does)."""
    rows = [
        Notification(member_id=member_id, kind=kind, params=dict(params))
        for member_id in member_ids
    ]
    db.session.add_all(rows)
    return len(rows)
