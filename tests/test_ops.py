"""Operations: /healthz, request ids, the production configuration check, backup and restore."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from lms import create_app
from lms.extensions import db
from lms.ops.checks import UnsafeConfiguration
from lms.ops.logs import JsonFormatter
from tests.conftest import empty_database


def test_healthz_reports_database_and_redis(client, app):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "not configured"}
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        response = client.get("/healthz")
    finally:
        app.config["REDIS_URL"] = ""
    assert response.status_code == 503 and response.json["redis"] == "unreachable"


def test_every_response_carries_a_request_id(client):
    first = client.get("/login").headers["X-Request-Id"]
    assert len(first) == 32 and first != client.get("/login").headers["X-Request-Id"]
    given = client.get("/login", headers={"X-Request-Id": "lb-42.abc"})
    assert given.headers["X-Request-Id"] == "lb-42.abc"
    forged = client.get("/login", headers={"X-Request-Id": "<script>" + "x" * 80})
    assert "<" not in forged.headers["X-Request-Id"] and len(forged.headers["X-Request-Id"]) == 32


def test_a_request_refused_before_any_view_still_has_its_id(client, csrf_enabled):
    response = client.post("/login", data={"username": "x"}, headers={"X-Request-Id": "lb-9"})
    assert response.status_code == 400 and response.headers["X-Request-Id"] == "lb-9"


def test_json_logs_carry_the_request_id(app):
    with app.test_request_context("/x"):
        from flask import g

        g.request_id = "abc123"
        record = logging.LogRecord("lms", logging.ERROR, __file__, 1, "出错了 %s", ("x",), None)
        line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "abc123" and line["message"] == "出错了 x"
    assert line["path"] == "/x" and line["level"] == "ERROR"


def test_with_json_logs_each_request_gets_an_access_line(tmp_path, monkeypatch):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
        app = create_app({"LOG_JSON": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
        stream = io.StringIO()
        root.handlers[0].setStream(stream)
        app.test_client().get("/healthz", headers={"X-Request-Id": "lb-7"})
        (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    assert line["request_id"] == "lb-7" and line["logger"] == "lms.access"
    assert line["path"] == "/healthz" and line["status"] == 200 and line["ms"] >= 0


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"LMS_SECRET_KEY": "secret"}, "LMS_SECRET_KEY"),
        ({"LMS_SECRET_KEY": "x" * 40, "FLASK_DEBUG": "1"}, "debug"),
        ({"LMS_SECRET_KEY": "x" * 40}, "PostgreSQL"),
    ],
)
def test_production_refuses_unsafe_settings(monkeypatch, tmp_path, env, problem):
    monkeypatch.setenv("LMS_ENV", "production")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(UnsafeConfiguration, match=problem):
        create_app()


def test_backup_and_restore_bring_everything_back(tmp_path, monkeypatch):
    """On a database of its own (SQLite, or a fresh PostgreSQL one on the PostgreSQL run)."""
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path / "instance"))
    with empty_database(tmp_path) as url:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "UPLOADS_DIR": str(tmp_path / "uploads"),
                "CERTIFICATES_DIR": str(tmp_path / "certificates"),
            }
        )
        with app.app_context():
            upgrade()
            db.session.execute(sa.text("INSERT INTO themes (name, position) VALUES ('备份', 1)"))
            db.session.commit()
            upload = Path(app.config["UPLOADS_DIR"]) / "materials" / "ab" / "abcd"
            upload.parent.mkdir(parents=True)
            upload.write_bytes(b"lecture")
            runner = app.test_cli_runner()
            result = runner.invoke(args=["backup", str(tmp_path / "backups")])
            assert result.exit_code == 0, result.output
            archive = next((tmp_path / "backups").glob("lms-backup-*.tar.gz"))

            db.session.execute(sa.text("DELETE FROM themes"))
            db.session.commit()
            upload.unlink()
            result = runner.invoke(args=["restore", str(archive), "--yes"])
            assert result.exit_code == 0, result.output
            assert db.session.scalar(sa.text("SELECT name FROM themes")) == "备份"
            assert upload.read_bytes() == b"lecture"
            bad = tmp_path / "bad.tar.gz"
            bad.write_bytes(b"not a tar")
            result = runner.invoke(args=["restore", str(bad), "--yes"])
            assert result.exit_code != 0 and "not a backup archive" in result.output
            db.session.remove()
            db.engine.dispose()
    os.environ.pop("LMS_ENV", None)


@pytest.mark.parametrize(
    ("trusted", "seen"),
    [(None, "127.0.0.9 http"), ("0", "127.0.0.9 http"), ("1", "10.1.2.3 https")],
)
def test_forwarded_headers_are_believed_only_from_configured_proxies(
    tmp_path, monkeypatch, trusted, seen
):
    """Behind nginx (LMS_TRUSTED_PROXIES=1) the client's address is X-Forwarded-For's, so the
    per-address sign-in limit is per trainee, not one for everyone; without it, a client cannot
    pretend to be another address by sending the header itself."""
    from flask import request

    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    if trusted is not None:
        monkeypatch.setenv("LMS_TRUSTED_PROXIES", trusted)
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    app.add_url_rule("/__whoami__", "whoami", lambda: f"{request.remote_addr} {request.scheme}")
    reply = app.test_client().get(
        "/__whoami__",
        headers={"X-Forwarded-For": "10.1.2.3", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "127.0.0.9"},
    )
    assert reply.get_data(as_text=True) == seen


def test_gunicorn_reads_the_apps_settings_and_each_worker_shortens_the_switch_interval(
    monkeypatch,
):
    from gunicorn.app.wsgiapp import WSGIApplication

    # The command line of `make serve`, as gunicorn parses it.
    argv = ["gunicorn", "-c", "python:lms.gunicorn_conf", "-w", "2", "lms:create_app()"]
    monkeypatch.setattr(sys, "argv", argv)
    server = WSGIApplication()
    assert server.cfg.worker_class_str == "gthread" and server.cfg.threads == 4
    before = sys.getswitchinterval()
    try:
        server.cfg.post_fork(None, None)
        assert sys.getswitchinterval() == pytest.approx(0.0005)
    finally:
        sys.setswitchinterval(before)
