"""The role predicates every feature's access rules build on (usable as `load`'s `can`: the
object is ignored). They live here, below every feature, so `lms.org` may use them too."""

from __future__ import annotations

from lms.auth.models import Role, User


def is_organizer(user: User, _obj: object = None) -> bool:
    """Party-school staff: they manage everything but users and settings. Usable as `load`'s
    `can` (the object is ignored)."""
    return user.has_role(Role.ORGANIZER)


def is_admin(user: User, _obj: object = None) -> bool:
    """The system owner: users, roles, settings. Usable as `load`'s `can`."""
    return user.has_role(Role.ADMIN)
