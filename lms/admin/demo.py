"""The demo accounts, one for each role, listed with their passwords for the operator."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from lms.admin.services import create_user
from lms.auth.models import Role, User
from lms.content_files import ContentError, read_yaml
from lms.extensions import db
from lms.org.models import Member


def load_accounts(path: Path) -> tuple[str, list[tuple[str, str, str]]]:
    data = read_yaml(path)
    if not isinstance(data, list):
        raise ContentError(f"{path}: a list of accounts is required")
    listed = []
    created = 0
    for index, entry in enumerate(data):
        try:
            username = str(entry["username"])
            password = str(entry["password"])
            roles = {Role(role) for role in entry["roles"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise ContentError(
                f"{path}: [{index}]: username, password and roles required ({exc})"
            ) from exc
        listed.append((username, password, ", ".join(sorted(roles))))
        if db.session.scalar(sa.select(User.id).where(User.username == username)):
            continue
        member_id = None
        if staff_no := entry.get("member"):
            member_id = db.session.scalar(
                sa.select(Member.id).where(Member.staff_no == str(staff_no))
            )
            if member_id is None:
                raise ContentError(f"{path}: [{index}].member: unknown 工号 {staff_no}")
        create_user(
            username=username,
            password=password,
            roles=roles,
            display_name=entry.get("display_name", ""),
            member_id=member_id,
            one_time=False,
        )
        created += 1
    return f"accounts: {created} new", listed
