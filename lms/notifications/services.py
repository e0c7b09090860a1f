"""Telling members what changed for them (one notification per member and event), and reading
a member's notifications."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import sqlalchemy as sa

from lms.database import utcnow
from lms.extensions import db
from lms.notifications.models import Notification

if TYPE_CHECKING:
    from lms.sessions.models import TrainingSession


def notify_members(member_ids: Iterable[int], kind: str, **params) -> int:
    """Add a notification of `kind` for each member; flushes nothing (the caller does)."""
    rows = [
        Notification(member_id=member_id, kind=kind, params=dict(params))
        for member_id in member_ids
    ]
    db.session.add_all(rows)
    return len(rows)


def notify_about_session(member_id: int, kind: str, session: TrainingSession) -> None:
    """Tell a member about their place in `session` (invited, leave decided, absent, make-up)."""
    notify_members([member_id], kind, session=session.title, start=session.start_date.isoformat())


def unread_count(member_id: int) -> int:
    return db.session.execute(
        sa.select(sa.func.count(Notification.id)).where(
            Notification.member_id == member_id, Notification.read_at.is_(None)
        )
    ).scalar_one()


def latest(member_id: int, limit: int = 100) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.member_id == member_id)
            .order_by(Notification.created_at.desc())
            .limit(limit)
        )
    )


def mark_all_read(member_id: int) -> None:
    db.session.execute(
        sa.update(Notification)
        .where(Notification.member_id == member_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
