"""User administration: finding, creating and changing accounts."""

from __future__ import annotations

import sqlalchemy as sa

from lms import signals
from lms.audit.services import record_audit
from lms.auth.models import Role, User
from lms.extensions import db
from lms.org.models import Member


def matching_users(query: str) -> sa.ColumnElement[bool]:
    """Accounts whose username, display name, or linked member's name or 工号 contains `query`
    (% and _ are searched for as themselves, not as wildcards)."""
    return sa.or_(
        User.username.icontains(query, autoescape=True),
        User.display_name.icontains(query, autoescape=True),
        User.member.has(
            sa.or_(
                Member.name.icontains(query, autoescape=True),
                Member.staff_no.icontains(query, autoescape=True),
            )
        ),
    )


def search_users(query: str = "") -> sa.Select:
    stmt = sa.select(User).order_by(User.username)
    if query:
        stmt = stmt.where(matching_users(query))
    return stmt


def update_user(
    user: User,
    *,
    roles: set[Role],
    active: bool,
    display_name: str,
    member_id: int | None,
) -> None:
    """Change roles, status and link of `user`, auditing each real change."""
    before = {
        "roles": sorted(user.roles),
        "active": user.active,
        "display_name": user.display_name,
        "member_id": user.member_id,
    }
    user.set_roles(roles)
    user.active = active
    user.display_name = display_name
    user.member_id = member_id
    after = {
        "roles": sorted(roles),
        "active": active,
        "display_name": display_name,
        "member_id": member_id,
    }
    changed = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if "active" in changed and not active:
        user.end_sessions()
    if changed:
        record_audit("user.updated", "user", user.id, changed)
    if "display_name" in changed or "member_id" in changed:
        signals.user_renamed.send(user)
    db.session.flush()


def create_user(
    *,
    username: str,
    password: str,
    roles: set[Role],
    display_name: str = "",
    member_id: int | None = None,
    one_time: bool = True,
) -> User:
    """Create an account; a one-time password must be changed at first login."""
    user = User(username=username, display_name=display_name, member_id=member_id)
    if one_time:
        user.set_one_time_password(password)
    else:
        user.set_password(password)
    user.set_roles(roles)
    db.session.add(user)
    db.session.flush()
    record_audit("user.created", "user", user.id, {"username": username, "roles": sorted(roles)})
    return user


def reset_password(user: User, one_time_password: str) -> None:
    user.set_one_time_password(one_time_password)
    record_audit("user.password_reset", "user", user.id)
    db.session.flush()
