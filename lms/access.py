"""Load → authorise → act: the one helper every view uses to fetch objects and check access."""

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import abort
from flask_login import current_user, login_required
from werkzeug.exceptions import Forbidden

from lms.auth.models import Role, User
from lms.extensions import db

T = TypeVar("T")


class Refused(Forbidden):
    """403 with a reason in the user's language (`description`), shown on the error page."""


def roles_required(*roles: Role) -> Callable:
    """Require a signed-in user holding at least one of `roles` (403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def load(
    model: type[T],
    ident: object,
    can: Callable[[User, T], bool],
    why: Callable[[User, T], str | None] | None = None,
) -> T:
    """Fetch `model` by primary key (404 if absent), then check `can(user, obj)` (403 if not).

    `why(user, obj)`, if given, says in the user's language why they were refused; the 403
    page shows it instead of the general message."""
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    if not can(current_user, obj):
        reason = why(current_user, obj) if why else None
        if reason:
            raise Refused(reason)
        abort(403)
    return obj


def authorize(allowed: bool) -> None:
    if not allowed:
        abort(403)
