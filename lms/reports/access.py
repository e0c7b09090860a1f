"""Who may read the progress reports, and which branches they see."""

from __future__ import annotations

from lms.access import is_organizer
from lms.auth.models import User
from lms.org.access import secretary_branch_ids
from lms.rotation.models import RotationCycle


def can_view_reports(user: User) -> bool:
    return is_organizer(user) or bool(secretary_branch_ids(user))


def scope_of(user: User) -> set[int] | None:
    """None means every branch (organizers); otherwise the branches the user may see."""
    return None if is_organizer(user) else secretary_branch_ids(user)


def can_view_cycle_reports(user: User, cycle: RotationCycle) -> bool:
    return can_view_reports(user)
