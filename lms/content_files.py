"""Shipped content files: reading their YAML, the error that names the file, the field and the
reason, and finding the users and courses they name."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import yaml

from lms.auth.models import User
from lms.catalog.models import Course
from lms.extensions import db


class ContentError(Exception):
    """A content file is invalid: the message names the file, the field and the reason."""


def read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"{path}: cannot be read: {exc}") from exc


def user_by_name(path: Path, where: str, username: object) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == str(username)))
    if user is None:
        raise ContentError(f"{path}: {where}: unknown user {username}")
    return user


def course_by_code(path: Path, where: str, code: object) -> Course:
    course = db.session.scalar(sa.select(Course).where(Course.code == str(code)))
    if course is None:
        raise ContentError(f"{path}: {where}: unknown course {code}")
    return course
