"""Cross-cutting request handling: security headers, language, forced password change, errors."""

from __future__ import annotations

import errno
import logging
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeGuard

from flask import (
    Flask,
    Request,
    current_app,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_translations
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from lms.access import Refused, view_checks_account
from lms.auth.services import SUPPORTED_LOCALES
from lms.auth.throttle import retry_after
from lms.extensions import db, limiter, login_manager

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Pages a user who must change their password may still reach.
PASSWORD_CHANGE_ENDPOINTS = {
    "auth.change_password",
    "auth.logout",
    "auth.set_language",
    "static",
    "bootstrap.static",
    "ops.healthz",
}


class UploadingRequest(Request):
    """Uploaded files stream to a temporary file in the uploads folder, never into memory.

    The file disappears when the request ends, whatever happened, so a refused or interrupted
    upload leaves nothing behind.
    """

    def _get_file_stream(
        self, total_content_length, content_type, filename=None, content_length=None
    ):
        folder = Path(current_app.config["UPLOADS_DIR"]) / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        stream = tempfile.NamedTemporaryFile(dir=folder, prefix="upload-")  # noqa: SIM115
        self.__dict__.setdefault("_upload_streams", []).append(stream)
        return stream

    def close(self) -> None:
        super().close()
        # Also the files of a body cut off mid-way (too large, client gone), never handed out.
        for stream in self.__dict__.get("_upload_streams", []):
            stream.close()


def large_uploads(limit: Callable[[], int]) -> Callable:
    """Mark a view as accepting request bodies up to `limit()` bytes instead of the default."""

    def decorator(view: Callable) -> Callable:
        # A mark on the view function itself, read back with getattr by set_upload_limit.
        view.upload_limit = limit  # type: ignore[attr-defined]
        return view

    return decorator


def set_upload_limit():
    view = current_app.view_functions.get(request.endpoint)
    limit = getattr(view, "upload_limit", None)
    if limit is not None:
        request.max_content_length = limit() + 1024 * 1024  # room for the other form fields


def use_account_locale(locale: str | None) -> None:
    """The session's account's language, read by a view that checks the account in its own SQL
    (`lms.access.session_login_required`): choosing the page's language then loads nothing."""
    g.account_locale = locale


def select_locale() -> str:
    if not has_request_context():
        return "zh_CN"
    if "account_locale" in g:
        account_locale = g.account_locale
    elif current_user and current_user.is_authenticated:
        account_locale = current_user.locale
    else:
        account_locale = None
    if account_locale in SUPPORTED_LOCALES:
        return account_locale
    if session.get("locale") in SUPPORTED_LOCALES:
        return session["locale"]
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    return "en" if best == "en" else "zh_CN"


# The views `unlimited` marked, by identity: a decorator stacked above one (a limit of its own)
# makes another function, which the limiter then checks as usual.
_UNLIMITED: set[Callable] = set()


def unlimited(view: Callable) -> Callable:
    """Exempt a view from rate limits, and say so before Flask-Limiter looks at the request
    (`_view_is_unlimited`): Flask-Limiter's own check finds an exempt view only after about a
    quarter of a millisecond, an eighth of an autosave, the busiest request of an exam."""
    view = limiter.exempt(view)
    _UNLIMITED.add(view)
    return view


@limiter.request_filter  # once, on the process's limiter, whichever app is made
def _view_is_unlimited() -> bool:
    return current_app.view_functions.get(request.endpoint or "") in _UNLIMITED


def request_translations():
    """The translations of the request's language, looked up once per request and language.
    flask_babel looks them up on every call (context, locale, cache key), and a question page
    translates about fifty strings. A `force_locale` block changes the locale object, so the
    cached translations are found stale there and looked up again."""
    state = g.get("_flask_babel")
    locale = getattr(state, "babel_locale", None)
    cached = getattr(state, "lms_translations", None)
    if cached is not None and cached[0] is locale:
        return cached[1]
    translations = get_translations()
    state = g.get("_flask_babel")  # get_translations made it when this request had none
    if state is not None:
        state.lms_translations = (getattr(state, "babel_locale", None), translations)
    return translations


def _install_template_gettext(app: Flask) -> None:
    """The templates' gettext family on `request_translations` (called after babel.init_app,
    whose own callables look the translations up on every string)."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.endpoint not in {"static", "bootstrap.static"}:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _refuse_nul_characters():
    """NUL never belongs in text a person typed, and PostgreSQL refuses it in text columns."""
    fields = list(request.args.items(multi=True))
    if request.method == "POST":
        fields += request.form.items(multi=True)
    if any("\x00" in key or "\x00" in value for key, value in fields):
        return render_error(400, _("提交的内容含有无效字符。"))
    return None


def _require_password_change():
    # The endpoint first: static files, /healthz and views that check the account in their own
    # SQL (an autosave) never load the user from the database.
    if (
        request.endpoint not in PASSWORD_CHANGE_ENDPOINTS
        and not view_checks_account()
        and current_user.is_authenticated
        and current_user.must_change_password
    ):
        return redirect(url_for("auth.change_password"))
    return None


ERROR_TITLES = {
    400: lambda: _("请求无效"),
    403: lambda: _("没有权限"),
    404: lambda: _("页面不存在"),
    405: lambda: _("不支持的操作"),
    413: lambda: _("文件太大"),
    429: lambda: _("操作过于频繁"),
    500: lambda: _("系统出错了"),
    503: lambda: _("服务暂时不可用"),
    507: lambda: _("存储空间不足"),
}
ERROR_MESSAGES = {
    400: lambda: _("提交的内容无法处理，请返回重试。"),
    403: lambda: _("您没有访问此页面的权限。如需开通，请联系党校组织者。"),
    404: lambda: _("您要找的页面不存在，可能已被移动或删除。"),
    405: lambda: _("此页面不支持该操作。"),
    413: lambda: _("上传的文件超过了允许的大小，请压缩或拆分后再试。"),
    429: lambda: _("尝试次数过多，请稍后再试。"),
    500: lambda: _("服务器处理请求时出错，我们已记录此问题。请稍后再试。"),
    503: lambda: _(
        "暂时连接不上数据库，您刚才的操作可能没有保存。请稍等片刻，刷新页面查看后再试。"
    ),
    507: lambda: _("服务器存储空间不足，文件没有保存。请联系管理员清理空间后重试。"),
}
# Errors from the disk filling up (or a file-size limit): nothing was kept, so say so plainly.
DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def render_error(code: int, message: str | None = None):
    title = ERROR_TITLES.get(code, ERROR_TITLES[400])()
    text = message or ERROR_MESSAGES.get(code, ERROR_MESSAGES[400])()
    try:
        return render_template("errors/error.html", code=code, title=title, message=text), code
    except Exception:
        # The page itself failed (e.g. the database is down): answer plainly rather than not at all.
        log.exception("error page %s could not be rendered", code)
        return (
            f"<!doctype html><title>{escape(title)}</title>"
            f"<h1>{escape(title)}</h1><p>{escape(text)}</p>",
            code,
        )


def _handle_http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    # Werkzeug's own descriptions are English: only a reason we wrote ourselves is shown.
    return render_error(error.code, error.description if isinstance(error, Refused) else None)


def _handle_csrf_error(error: CSRFError):
    return render_error(400, _("页面已过期或缺少安全令牌，请刷新页面后重新提交。"))


def _handle_rate_limited(error: HTTPException):
    seconds = retry_after()
    message = None
    if request.endpoint == "auth.login":
        message = _(
            "登录失败次数过多，请 %(minutes)s 分钟后再试，或联系管理员重置密码。",
            minutes=math.ceil(seconds / 60),
        )
    body, code = render_error(429, message)
    return body, code, {"Retry-After": str(seconds)}


# PostgreSQL's connection errors (class 08) and "shutting down", "crashed", "starting up".
UNAVAILABLE_STATES = {"57P01", "57P02", "57P03"}


def _database_unreachable(error: Exception) -> TypeGuard[OperationalError | InterfaceError]:
    """The database is down, restarting or cut off, as opposed to a failing query (a deadlock,
    a timeout, SQLite's "database is locked"): those are errors like any other."""
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    if error.connection_invalidated:
        return True
    # psycopg gives every error from the server a SQLSTATE; a failed connection has none.
    state = getattr(error.orig, "sqlstate", "")
    return state is None or state.startswith("08") or state in UNAVAILABLE_STATES


def _handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return _handle_http_error(error)
    try:
        db.session.rollback()
    except SQLAlchemyError:
        log.warning("rollback after error failed", exc_info=True)
    if _database_unreachable(error):
        # The page must not need the database: it is shown as to a visitor who is signed out.
        log.error("database unavailable on %s %s: %s", request.method, request.path, error.orig)
        g._login_user = login_manager.anonymous_user()
        return render_error(503)
    if isinstance(error, OSError) and error.errno in DISK_FULL:
        log.error("disk full on %s %s: %s", request.method, request.path, error)
        return render_error(507)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return render_error(500)


def _close_database_session(_error: BaseException | None) -> None:
    """End the request's database session even if the connection died after the response was
    made (the database restarted): the answer stands, the broken session is simply dropped.
    Runs before Flask-SQLAlchemy's own teardown, which then has nothing left to close."""
    try:
        db.session.remove()
    except SQLAlchemyError:
        log.warning("the database connection was lost while closing the session", exc_info=True)
        db.session.registry.clear()


def init_web(app: Flask) -> None:
    app.request_class = UploadingRequest
    _install_template_gettext(app)
    app.after_request(_security_headers)
    app.before_request(_refuse_nul_characters)
    app.before_request(_require_password_change)
    app.register_error_handler(CSRFError, _handle_csrf_error)
    app.register_error_handler(429, _handle_rate_limited)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(Exception, _handle_unexpected)
    app.teardown_appcontext(_close_database_session)  # after db.init_app, so it runs first
