"""Sign-in throttling: failed sign-ins are counted so guessing is slow, yet a stranger cannot lock
the owner out.

Only failures count, in Flask-Limiter, three ways:

- per account and address (`LOGIN_LIMIT_PER_ACCOUNT_ADDRESS`, tight): one guesser, one account;
- per address (`LOGIN_LIMIT_PER_IP`, looser): one guesser trying many accounts, loose enough that
  the typos of a whole plant behind one NAT address do not lock it;
- per account (`LOGIN_LIMIT_PER_ACCOUNT`, slow): many addresses guessing one account.

A device that signed in to an account before carries a signed "known device" cookie naming it.
For that account such a device is exempt from the per-address and per-account counts strangers
fill, and its own failures are counted per device instead of per address.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from datetime import timedelta

from flask import Response, current_app, g, request
from flask_limiter.util import get_remote_address
from itsdangerous import BadData, URLSafeTimedSerializer

from lms.auth.models import User
from lms.auth.services import find_user
from lms.extensions import limiter

log = logging.getLogger(__name__)

KNOWN_DEVICE_COOKIE = "lms_device"
KNOWN_DEVICE_LIFETIME = timedelta(days=365)
ACCOUNTS_PER_DEVICE = 8  # a shared computer at a sign-in desk knows its last few accounts


def _serializer() -> URLSafeTimedSerializer:
    assert current_app.secret_key is not None  # load_config always sets one
    return URLSafeTimedSerializer(current_app.secret_key, salt="lms.known-device")


def _device() -> dict | None:
    """The request's known-device cookie, {"d": device id, "u": [user ids]}, if genuine."""
    if "known_device" not in g:
        try:
            data = _serializer().loads(
                request.cookies.get(KNOWN_DEVICE_COOKIE, ""),
                max_age=int(KNOWN_DEVICE_LIFETIME.total_seconds()),
            )
        except BadData:
            data = None
        valid = (
            isinstance(data, dict)
            and isinstance(data.get("d"), str)
            and isinstance(data.get("u"), list)
        )
        g.known_device = data if valid else None
    return g.known_device


def _attempted_user() -> User | None:
    if "sign_in_account" not in g:
        g.sign_in_account = find_user(request.form.get("username", "")[:64])
    return g.sign_in_account


def account_key() -> str:
    """The account tried: the one found (by username or 工号, one count either way), else the
    name as typed, so a made-up name is counted like any other."""
    user = _attempted_user()
    if user is not None:
        return f"login-account:{user.id}"
    return "login-name:" + request.form.get("username", "").strip().lower()[:64]


def known_device() -> bool:
    """This request comes from a device that signed in to the account it tries before."""
    user, device = _attempted_user(), _device()
    return user is not None and device is not None and user.id in device["u"]


def account_address_key() -> str:
    device = _device()
    if device is not None and known_device():
        return f"{account_key()}@device:{device['d']}"
    return f"{account_key()}@{get_remote_address()}"


def failed(response: Response) -> bool:
    # A failed attempt re-renders the form (200); a success redirects.
    return request.method == "POST" and response.status_code == 200


def remember_device(response: Response, user: User) -> None:
    """Mark the browser as a device `user` signs in with (kept for a year)."""
    device = _device() or {"d": secrets.token_urlsafe(16), "u": []}
    accounts = [uid for uid in device["u"] if uid != user.id][-(ACCOUNTS_PER_DEVICE - 1) :]
    response.set_cookie(
        KNOWN_DEVICE_COOKIE,
        _serializer().dumps({"d": device["d"], "u": [*accounts, user.id]}),
        max_age=int(KNOWN_DEVICE_LIFETIME.total_seconds()),
        path="/login",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )


def retry_after() -> int:
    """Seconds until every limit this request broke lets it through again (at least 1)."""
    breached = [limit for limit in limiter.current_limits if limit.breached]
    if not breached:  # refused by something other than a limit of this request
        return 60
    try:
        reset_at = max(limit.window[0] for limit in breached)
    except Exception:  # the limits' storage went away meanwhile: a whole window is an upper bound
        log.warning("could not read when the sign-in limit resets", exc_info=True)
        return max(limit.limit.get_expiry() for limit in breached)
    return max(1, math.ceil(reset_at - time.time()))
