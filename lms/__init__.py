"""Party school LMS: the application factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_login import current_user
from markupsafe import Markup, escape
from werkzeug.routing import IntegerConverter

from lms.config import load_config
from lms.database import ping_when_idle
from lms.extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate
from lms.paths import PACKAGE_DIR, shipped
from lms.transaction import TransactionalFlask


def _blueprints():
    from lms.admin.views import bp as admin_bp
    from lms.attendance.views import bp as attendance_bp
    from lms.auth.views import bp as auth_bp
    from lms.catalog.views import bp as catalog_bp
    from lms.certificates.views import bp as certificates_bp
    from lms.evaluation.views import bp as evaluation_bp
    from lms.main.views import bp as main_bp
    from lms.materials.views import bp as materials_bp
    from lms.notifications.views import bp as notifications_bp
    from lms.online.views import bp as online_bp
    from lms.ops.views import bp as ops_bp
    from lms.org.views import bp as org_bp
    from lms.quizzes.views import bp as quizzes_bp
    from lms.records.views import bp as records_bp
    from lms.reports.views import bp as reports_bp
    from lms.rotation.views import bp as rotation_bp
    from lms.sessions.views import bp as sessions_bp

    return [
        ops_bp,
        main_bp,
        notifications_bp,
        auth_bp,
        org_bp,
        catalog_bp,
        sessions_bp,
        materials_bp,
        online_bp,
        quizzes_bp,
        attendance_bp,
        rotation_bp,
        reports_bp,
        records_bp,
        certificates_bp,
        evaluation_bp,
        admin_bp,
    ]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    instance_path = os.environ.get("LMS_INSTANCE_PATH")
    app = TransactionalFlask(
        __name__,
        template_folder=str(shipped("templates")),
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
    )
    app.config.from_mapping(load_config(Path(app.instance_path)))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(PACKAGE_DIR / "translations")
    if test_config:
        app.config.from_mapping(test_config)

    if hops := app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Flask's documented way to add WSGI middleware; its types declare wsgi_app a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    from lms.web import set_upload_limit

    # Before any extension reads the body (CSRF does), so large uploads get their own limit.
    app.before_request(set_upload_limit)
    _init_extensions(app)
    _import_models()
    _connect_signals()
    app.url_map.converters["int"] = DatabaseIdConverter
    for blueprint in _blueprints():
        app.register_blueprint(blueprint)

    from lms.cli import register_commands
    from lms.ops.checks import check_production
    from lms.ops.logs import init_logs
    from lms.sessions.daily import init_daily
    from lms.web import init_web

    check_production(app)
    init_logs(app)
    init_web(app)
    init_daily(app)
    register_commands(app)
    _template_globals(app)
    return app


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in routes: numbers beyond what an id column holds are simply not found."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        from lms.forms import MAX_ID

        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def _connect_signals() -> None:
    """Who reacts to what (lms/signals.py): a lower feature announces, a higher one receives.
    Connecting the same receiver again (another app in the same process) changes nothing."""
    from lms import signals
    from lms.catalog.services import touch_courses_taught_by
    from lms.materials.services import lesson_deletion_refusal
    from lms.online.services import ledger_lines
    from lms.quizzes.services import notify_quizzes_opening
    from lms.rotation.services import close_session

    signals.session_completed.connect(close_session)
    signals.user_renamed.connect(touch_courses_taught_by)
    signals.day_began.connect(notify_quizzes_opening)
    signals.hours_ledger_lines.connect(ledger_lines)
    signals.lesson_deleting.connect(lesson_deletion_refusal)


def _import_models() -> None:
    """Every model, so the metadata (and Alembic) sees every table and foreign key."""
    import lms.attendance.models
    import lms.audit.models
    import lms.auth.models
    import lms.catalog.models
    import lms.certificates.models
    import lms.evaluation.models
    import lms.materials.models
    import lms.notifications.models
    import lms.online.models
    import lms.org.models
    import lms.quizzes.models
    import lms.rotation.models
    import lms.sessions.models
    import lms.settings  # noqa: F401


def _init_extensions(app: Flask) -> None:
    from lms.web import select_locale

    db.init_app(app)
    with app.app_context():
        _sqlite_transactions(db.engine)
        if db.engine.dialect.name != "sqlite":
            ping_when_idle(db.engine, app.config["DATABASE_PING_AFTER_IDLE_SECONDS"])
    migrate.init_app(app, db, directory=str(shipped("migrations")))
    # Flask-Login's own context processor loads the account for every template rendered; the
    # proxy loads it only where a template reads it (not the exam's question page).
    login_manager.init_app(app, add_context_processor=False)
    app.context_processor(lambda: {"current_user": current_user})
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("请先登录。")
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    bootstrap.init_app(app)
    limiter.init_app(app)
    from lms.auth.services import load_user

    login_manager.user_loader(load_user)


def _sqlite_transactions(engine: sa.Engine) -> None:
    """Let SQLAlchemy, not pysqlite, run transactions, so SAVEPOINTs work; enforce foreign keys."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN")


def _template_globals(app: Flask) -> None:
    from flask_babel import get_locale

    from lms.auth.models import Role
    from lms.quizzes.questions import BLANK
    from lms.quizzes.stats import option_labels

    app.jinja_env.globals.update(
        Role=Role,
        get_locale=get_locale,
    )
    app.jinja_env.filters["nl2br"] = _nl2br
    app.jinja_env.filters["blank_parts"] = lambda stem: _interleave(BLANK.split(stem))
    app.jinja_env.filters["option_labels"] = option_labels
    app.jinja_env.filters["file_size"] = file_size
    app.jinja_env.filters["locale_list"] = locale_list


FILE_SIZE_UNITS = ["digital-kilobyte", "digital-megabyte", "digital-gigabyte"]


def file_size(size: int) -> str:
    """A file size in the user's language: "602字节" / "602 bytes", then "1.2 MB" (1024-based)."""
    from babel.units import format_unit
    from flask_babel import get_locale

    if size < 1024:
        return format_unit(size, "digital-byte", length="long", locale=get_locale())
    value = float(size)
    for unit in FILE_SIZE_UNITS:
        value /= 1024
        if value < 1024 or unit == FILE_SIZE_UNITS[-1]:
            break
    return format_unit(value, unit, length="short", format="#,##0.#", locale=get_locale())


def locale_list(items) -> str:
    """Items joined as the user's language joins a list: "甲、乙和丙" / "A, B, and C"."""
    from babel.lists import format_list
    from flask_babel import get_locale

    return format_list([str(item) for item in items], locale=get_locale())


def _nl2br(text: str) -> Markup:
    return Markup("<br>").join(escape(line) for line in str(text).split("\n"))


def _interleave(parts: list[str]) -> list[str]:
    """Text pieces with a marker between each pair, so a template can put an input there."""
    out: list[str] = []
    for index, part in enumerate(parts):
        if index:
            out.append("")
        out.append(part)
    return out
