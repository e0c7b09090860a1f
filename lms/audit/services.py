"""Recording a change in the audit log: the one call every feature makes."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from lms.audit.models import AuditLog
from lms.extensions import db


def record_audit(
    action: str,
    target_type: str,
    target_id: object,
    details: dict[str, Any] | None = None,
    *,
    actor_id: int | None = None,
    flush: bool = True,
) -> AuditLog:
    """Add an audit entry for `actor_id`, else the current user (or the system, outside a
    request). A caller adding many entries at once may flush them itself."""
    ip = None
    if has_request_context():
        ip = request.remote_addr
        if actor_id is None and current_user and current_user.is_authenticated:
            actor_id = current_user.id
    entry = AuditLog(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        details=details or {},
        ip=ip,
    )
    db.session.add(entry)
    if flush:
        db.session.flush()
    return entry
