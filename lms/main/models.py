"""In-app notifications for members: invitations, leave decisions, make-up sessions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from lms.database import UTCDateTime, intpk, timestamp
from lms.extensions import db

# Stored as a kind and its parameters, so each member reads them in their own language.
NOTIFICATION_TEXTS = {
    "invited": _l("您被安排参加「%(session)s」（%(start)s 起）。"),
    "leave_approved": _l("您在「%(session)s」的请假已批准，稍后会为您安排补训。"),
    "leave_refused": _l("您在「%(session)s」的请假未获批准，请按时参训。"),
    "makeup": _l("您被安排在「%(session)s」（%(start)s 起）补训。"),
}


class Notification(db.Model):
    __tablename__ = "notifications"

    id: Mapped[intpk]
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    link: Mapped[str] = mapped_column(sa.String(255), default="")
    created_at: Mapped[timestamp]
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def text(self) -> str:
        template = NOTIFICATION_TEXTS.get(self.kind)
        return str(template) % self.params if template is not None else self.kind
