"""Who may act on an enrollment: organizers call, excuse and carry members; the member answers
their own call (confirm, ask for leave)."""

from __future__ import annotations

from lms.auth.models import User
from lms.sessions.models import Enrollment


def owns_enrollment(user: User, enrollment: Enrollment) -> bool:
    return user.member_id is not None and enrollment.member_id == user.member_id
