"""Fixtures: a migrated database per run (SQLite, or PostgreSQL via LMS_TEST_DATABASE_URL),
rolled back after every test, plus clients, a CLI runner and login helpers."""

from __future__ import annotations

import contextvars
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade

from lms import create_app
from lms.extensions import db, limiter

PG_URL = os.environ.get("LMS_TEST_DATABASE_URL", "")


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context (own `g`, own DB session),
    as in production, even though the test itself holds an app context for its factories."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)  # read and close file responses, as a browser would
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():  # not inside a redirect being followed
            db.session.expire_all()  # the test's own objects now show what the request wrote
        return response


@contextmanager
def empty_database(folder: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file in `folder`, or a new PostgreSQL database."""
    if not PG_URL:
        yield f"sqlite:///{folder / 'test.db'}"
        return
    admin_engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"lms_test_{uuid.uuid4().hex[:10]}"
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    with empty_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory) -> Iterator[Flask]:
    os.environ["LMS_INSTANCE_PATH"] = str(tmp_path_factory.mktemp("instance"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "JOBS_INLINE": True,  # background jobs run inside the request, in its transaction
            "SESSIONS_ADVANCE_DAILY": False,  # tests advance statuses when they mean to
        }
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _rollback(app) -> Iterator[None]:
    """Run each test inside one outer transaction that is rolled back afterwards.

    Sessions join it through SAVEPOINTs, so the app's own commits work as usual."""
    with app.app_context():
        engines = db.engines
        engine = engines[None]
        connection = engine.connect()
        transaction = connection.begin()
        engines[None] = connection
        db.session.remove()
        db.session.configure(join_transaction_mode="create_savepoint")
        limiter.reset()
        try:
            yield
        finally:
            db.session.remove()
            transaction.rollback()
            connection.close()
            engines[None] = engine


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def csrf_enabled(app) -> Iterator[None]:
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def login(client: FlaskClient, user) -> FlaskClient:
    """Sign `user` in on `client` without going through the (slow, throttled) login form."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return client


@pytest.fixture
def login_as(client):
    """login_as(role or user) → the client, signed in as a fresh user with that role."""
    from tests.factories import make_user

    def _login_as(who):
        user = who if not isinstance(who, str) else make_user(roles={who})
        login(client, user)
        return user

    return _login_as


def _signed_in(client: FlaskClient, role: str):
    from tests.factories import make_user

    user = make_user(roles={role})
    login(client, user)
    return user


@pytest.fixture
def organizer(client):
    """An organizer, signed in on `client`."""
    return _signed_in(client, "organizer")


@pytest.fixture
def admin(client):
    """An admin, signed in on `client`."""
    return _signed_in(client, "admin")


def pytest_terminal_summary(terminalreporter) -> None:
    from tests.figures import summary

    for line in summary():
        terminalreporter.write_line(line)
    shots = Path(__file__).resolve().parent.parent / "screenshots"
    if shots.is_dir() and any(shots.iterdir()):
        terminalreporter.write_line(f"browser journey screenshots: {shots}")


def csrf_token(client: FlaskClient, url: str) -> str:
    """The CSRF token of a form on the page at `url` (for tests run with `csrf_enabled`)."""
    import re

    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
