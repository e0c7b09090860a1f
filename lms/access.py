"""Load → authorise → act: the one helper every view uses to fetch objects and check access."""

from collections.abc import Callable, Sequence
from functools import wraps
from typing import TypeVar

from flask import abort, current_app, request
from flask_login import current_user, login_required
from sqlalchemy import inspect
from sqlalchemy.orm.interfaces import ORMOption
from werkzeug.exceptions import Forbidden

# The role predicates live in lms.auth (below lms.org, which uses them); views take them from
# here, beside `load` that they are passed to.
from lms.auth.access import is_admin, is_organizer  # noqa: F401
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
    *,
    within: object | None = None,
    options: Sequence[ORMOption] = (),
) -> T:
    """Fetch `model` by primary key (404 if absent), then check `can(user, obj)` (403 if not).

    `within`, if given, is the parent object the URL names the object under (`/quizzes/1/draws/2`
    → `within=quiz`): an object that does not belong to it is absent there (404), whatever its id.
    `why(user, obj)`, if given, says in the user's language why they were refused; the 403
    page shows it instead of the general message. `options` are loader options for the fetch
    (what the view will read anyway, loaded in the same statement or the one after it)."""
    obj = db.session.get(model, ident, options=options)
    if obj is None or (within is not None and not belongs_to(obj, within)):
        abort(404)
    if not can(current_user, obj):
        reason = why(current_user, obj) if why else None
        if reason:
            raise Refused(reason)
        abort(403)
    return obj


def belongs_to(obj: object, parent: object) -> bool:
    """`obj` has a foreign key to `parent` (compared by value, so nothing more is loaded)."""
    mapper, parent_mapper = inspect(type(obj)), inspect(type(parent))
    pairs = [
        (
            mapper.get_property_by_column(column).key,
            parent_mapper.get_property_by_column(key.column).key,
        )
        for column in mapper.columns
        for key in column.foreign_keys
        if key.column.table in parent_mapper.tables
    ]
    if not pairs:
        raise TypeError(f"{type(obj).__name__} has no foreign key to {type(parent).__name__}")
    return any(getattr(obj, local) == getattr(parent, remote) for local, remote in pairs)


def authorize(allowed: bool) -> None:
    if not allowed:
        abort(403)
