"""Who may list, see and change which members: organizers all, secretaries their branches'."""

from __future__ import annotations

import sqlalchemy as sa

from lms.auth.access import is_organizer
from lms.auth.models import Role, User
from lms.extensions import db
from lms.org.models import Member, branch_secretaries


def secretary_branch_ids(user: User) -> set[int]:
    """The branches `user` is secretary of (empty unless they hold the secretary role)."""
    if not user.has_role(Role.SECRETARY) or user.member_id is None:
        return set()
    rows = db.session.scalars(
        sa.select(branch_secretaries.c.branch_id).where(
            branch_secretaries.c.member_id == user.member_id
        )
    )
    return set(rows)


def can_list_members(user: User) -> bool:
    return is_organizer(user) or bool(secretary_branch_ids(user))


def can_view_member(user: User, member: Member) -> bool:
    if is_organizer(user) or user.member_id == member.id:
        return True
    return member.branch_id in secretary_branch_ids(user)


def can_edit_member(user: User, member: Member) -> bool:
    return is_organizer(user)
