"""Who may download a certificate: its owner and organizers (who also issue and revoke)."""

from __future__ import annotations

from lms.access import is_organizer
from lms.auth.models import User
from lms.certificates.models import Certificate


def can_download(user: User, certificate: Certificate) -> bool:
    return is_organizer(user) or (
        user.member_id is not None and certificate.member_id == user.member_id
    )
