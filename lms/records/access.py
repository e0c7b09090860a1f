"""Who may read a member's training record and export a branch's."""

from __future__ import annotations

from lms.access import is_organizer
from lms.auth.models import User
from lms.org.access import can_view_member, secretary_branch_ids
from lms.org.models import Branch, Member


def can_view_record(user: User, member: Member) -> bool:
    """The member themselves, the secretary of their branch, and organizers."""
    return can_view_member(user, member)


def can_export_branch(user: User, branch: Branch) -> bool:
    return is_organizer(user) or branch.id in secretary_branch_ids(user)
