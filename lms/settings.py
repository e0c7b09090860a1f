"""Organisation settings an admin may change (hours targets, online credit rules, ...), stored in
the database as JSON under a key; each feature reads and writes its own keys."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lms.extensions import Model


class Setting(Model):
    """An organisation setting an admin may change (e.g. annual hours targets), stored as JSON."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[dict] = mapped_column(sa.JSON)
