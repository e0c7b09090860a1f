"""Fault suite, in-process part: the database unreachable, the disk full, Redis down. What a
person sees (a clear page in their language, never a stack trace) and what is left behind
(nothing). The same faults against gunicorn + PostgreSQL are in tests/faults/."""

from __future__ import annotations

import errno
import shutil
import sqlite3
import uuid
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from lms import create_app
from lms.auth.models import Role
from lms.certificates.models import IssuanceJob
from lms.database import ping_when_idle
from lms.extensions import db
from lms.files import atomic_file
from lms.materials.models import Material, MaterialVersion
from lms.web import _database_unreachable
from tests import samples
from tests.conftest import PG_URL, login
from tests.factories import make_lesson, make_session, make_user
from tests.test_materials import _files_on_disk, _upload

pytestmark = pytest.mark.faults

NOBODY_LISTENS = "127.0.0.1:9"  # the discard port: connections are refused at once


@pytest.fixture
def unreachable_database_app(app, tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    unreachable = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": (
                f"postgresql+psycopg://postgres@{NOBODY_LISTENS}/lms?connect_timeout=2"
            ),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    yield unreachable
    with unreachable.app_context():
        db.engine.dispose()


@pytest.mark.once
@pytest.mark.parametrize(
    ("method", "url"),
    [("GET", "/courses/"), ("GET", "/"), ("POST", "/quizzes/attempts/1/answer")],
)
def test_an_unreachable_database_gives_a_friendly_503(unreachable_database_app, method, url):
    client = unreachable_database_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:token"  # signed in: loading the user needs the database
    response = client.open(url, method=method, json={} if method == "POST" else None)
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "暂时连接不上数据库" in html and "可能没有保存" in html
    assert "Traceback" not in html and "psycopg" not in html
    # The site's own page, rendered signed out so it needs nothing from the database:
    assert "navbar-brand" in html and "navbar-toggler" not in html


@pytest.mark.parametrize(
    ("orig", "invalidated", "unreachable"),
    [
        (psycopg.OperationalError("connection failed: Connection refused"), False, True),
        (psycopg.errors.AdminShutdown("terminating connection"), False, True),
        (psycopg.errors.CannotConnectNow("the database system is starting up"), False, True),
        (psycopg.errors.ConnectionFailure("connection failure"), False, True),
        (psycopg.errors.DeadlockDetected("deadlock detected"), False, False),
        (psycopg.errors.QueryCanceled("statement timeout"), False, False),
        (sqlite3.OperationalError("database is locked"), False, False),
        (sqlite3.OperationalError("no such table: users"), False, False),
        (Exception("server closed the connection unexpectedly"), True, True),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_only_a_lost_database_is_called_unreachable(orig, invalidated, unreachable):
    """A deadlock or a locked SQLite file is a failure like any other (500, logged with its
    stack); only a database that cannot be reached gets the "try again shortly" 503."""
    error = OperationalError("SELECT 1", {}, orig, connection_invalidated=invalidated)
    assert _database_unreachable(error) is unreachable


@pytest.mark.once
def test_the_error_page_keeps_its_styles_while_the_database_is_down(unreachable_database_app):
    """Static files never load the signed-in user, so they are served without the database."""
    client = unreachable_database_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:token"
    for url in ("/static/app.css", "/bootstrap/static/css/bootstrap.min.css"):
        response = client.get(url)
        assert response.status_code == 200, url
        response.close()


@pytest.mark.once
def test_healthz_reports_the_unreachable_database(unreachable_database_app):
    response = unreachable_database_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_a_full_disk_during_an_upload_leaves_no_partial_file(client, app, monkeypatch, error):
    uploads = Path(app.config["UPLOADS_DIR"])
    lecturer = make_user(roles={Role.LECTURER})
    lesson = make_lesson(lecturer=lecturer)
    before = _files_on_disk(uploads)

    def copy(source, target, length=0):
        target.write(source.read(1000))
        raise OSError(error, "disk full")

    monkeypatch.setattr(shutil, "copyfileobj", copy)
    login(client, lecturer)
    fresh = samples.pdf() + f"%{uuid.uuid4()}".encode()  # bytes not stored by an earlier test
    response = _upload(client, f"/materials/upload/lesson/{lesson.id}", "讲义.pdf", fresh)
    assert response.status_code == 507
    assert "存储空间不足" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Material.id))) == 0
    assert db.session.scalar(db.select(db.func.count(MaterialVersion.id))) == 0
    assert _files_on_disk(uploads) == before


def test_a_full_disk_while_the_body_is_received_leaves_no_temporary_file(client, app, monkeypatch):
    """The upload is spooled to a temporary file before the view runs; that file goes too."""
    import tempfile

    uploads = Path(app.config["UPLOADS_DIR"])
    lecturer = make_user(roles={Role.LECTURER})
    lesson = make_lesson(lecturer=lecturer)
    before = _files_on_disk(uploads)
    real = tempfile.NamedTemporaryFile

    class FillingUp:
        def __init__(self, **kwargs):
            self.file = real(**kwargs)
            self.name = self.file.name

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.file, name)

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", FillingUp)
    login(client, lecturer)
    response = _upload(client, f"/materials/upload/lesson/{lesson.id}", "讲义.pdf", samples.pdf())
    assert response.status_code == 507
    assert db.session.scalar(db.select(db.func.count(Material.id))) == 0
    assert _files_on_disk(uploads) == before


def test_files_are_written_whole_or_not_at_all(tmp_path):
    """Materials and certificates are both written through atomic_file."""
    target = tmp_path / "ab" / "certificate.pdf"
    with pytest.raises(OSError, match="No space"), atomic_file(target) as out:
        out.write(b"%PDF-1.7 half a certificate")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    with atomic_file(target) as out:
        out.write(b"%PDF-1.7 whole")
    assert target.read_bytes() == b"%PDF-1.7 whole"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["certificate.pdf"]


def test_redis_down_runs_the_job_in_a_thread_and_says_so(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://{NOBODY_LISTENS}/0")
    started = []
    monkeypatch.setattr(
        "lms.jobs.threading",
        SimpleNamespace(Thread=lambda target, args, kwargs, daemon: _Recorder(started, args)),
    )
    organizer = make_user(roles={Role.ORGANIZER})
    session = make_session()
    login(client, organizer)
    response = client.post(f"/certificates/sessions/{session.id}/issue", follow_redirects=True)
    assert response.status_code == 200
    assert "后台队列（Redis）暂时连接不上" in response.get_data(as_text=True)
    job = db.session.scalars(
        db.select(IssuanceJob).where(IssuanceJob.session_id == session.id)
    ).one()
    assert started == [(job.id,)]


class _Recorder:
    def __init__(self, started: list, args: tuple) -> None:
        self.started, self.args = started, args

    def start(self) -> None:
        self.started.append(self.args)


def test_a_connection_lost_after_the_response_keeps_the_response(client, monkeypatch):
    """The database restarts between the view's answer and the session's closing rollback."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import scoped_session

    lost = []
    real_remove = scoped_session.remove

    def remove(self):
        if not lost:
            lost.append(True)
            raise OperationalError("ROLLBACK", {}, Exception("server closed the connection"))
        return real_remove(self)

    monkeypatch.setattr(scoped_session, "remove", remove)
    login(client, make_user(roles={Role.ORGANIZER}))
    response = client.get("/courses/")
    assert lost and response.status_code == 200


@pytest.mark.skipif(not PG_URL, reason="ends a PostgreSQL backend")
@pytest.mark.parametrize("idle_seconds", [0, 3600])
def test_a_connection_ended_by_the_server_is_renewed(database_url, idle_seconds):
    """A pooled connection the server ended: one that sat idle is checked and replaced before
    use; a busy one fails once (the request's friendly 503), then the pool is renewed."""
    engine = sa.create_engine(database_url, pool_size=1)
    ping_when_idle(engine, idle_seconds)
    try:
        with engine.connect() as conn:
            ended = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with sa.create_engine(database_url, poolclass=sa.pool.NullPool).begin() as admin:
            # Waits (up to 5 s) until the backend has ended.
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": ended})
        if idle_seconds:
            with pytest.raises(OperationalError) as lost, engine.connect() as conn:
                conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            assert lost.value.connection_invalidated
        with engine.connect() as conn:
            renewed = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        assert renewed != ended
    finally:
        engine.dispose()
