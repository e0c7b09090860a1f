"""Finding the accounts the shipped demo content names (the accounts themselves are loaded by
lms/admin/demo.py, which creates users)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from lms.auth.models import User
from lms.content_files import ContentError
from lms.extensions import db


def user_by_name(path: Path, where: str, username: object) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == str(username)))
    if user is None:
        raise ContentError(f"{path}: {where}: unknown user {username}")
    return user
