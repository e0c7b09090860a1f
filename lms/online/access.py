"""Who may watch a recording."""

from __future__ import annotations

from lms.auth.models import User
from lms.materials.access import can_view_material
from lms.online.models import Recording


def can_watch(user: User, recording: Recording) -> bool:
    """Whoever may see the recording's material (enrolment and visibility decide)."""
    material = recording.material
    return material.deleted_at is None and can_view_material(user, material)
