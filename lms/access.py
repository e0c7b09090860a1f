"""Load → authorise → act: the one helper every view uses to fetch objects and check access."""

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import abort, current_app, request
from flask_login import current_user, login_required
from werkzeug.exceptions import Forbidden

from lms.auth.models import Role, User
from lms.auth.services import session_account
from lms.extensions import db, login_manager

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


def session_login_required(view: Callable) -> Callable:
    """`login_required` for the busiest requests of an exam, which do not load the account:
    the view gets `account` (who the signed session names, `SessionAccount`) and must check it
    in its own SQL (`SessionAccount.refusal`: signed out, disabled, password change due). The
    request hooks that would load the user for it leave such a view alone."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        account = session_account()
        if account is None:
            return login_manager.unauthorized()
        return view(*args, account=account, **kwargs)

    # A mark on the view function itself, read back with getattr by view_checks_account.
    wrapped.checks_account = True  # type: ignore[attr-defined]
    return wrapped


def view_checks_account() -> bool:
    """The request's view checks the account itself (`session_login_required`)."""
    if request.endpoint is None:
        return False
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "checks_account", False)


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
