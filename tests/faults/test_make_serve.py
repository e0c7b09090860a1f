"""`make serve`, exactly as the README's Deploy section runs it: migrations, gunicorn and an RQ
worker from environment variables, on PostgreSQL and Redis."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from redis import Redis
from rq import Worker

from bench._serving import Client, free_port
from tests.faults.conftest import ADMIN_DSN

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/12"

pytestmark = [pytest.mark.faults, pytest.mark.once]


def test_make_serve_runs_gunicorn_and_an_rq_worker(tmp_path):
    database = f"lms_serve_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    Redis.from_url(REDIS_URL).flushdb()
    port = free_port()
    env = {
        **os.environ,
        "LMS_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}",
        "LMS_REDIS_URL": REDIS_URL,
        "LMS_SECRET_KEY": secrets.token_urlsafe(48),
        "LMS_BIND": f"127.0.0.1:{port}",
        "LMS_WORKERS": "1",
        "LMS_INSTANCE_PATH": str(tmp_path),
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(
            ["make", "--no-print-directory", "serve"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole below
        )
    try:
        health = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and serve.poll() is None:
            try:
                health = Client(port, timeout=5).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.5)
        assert health is not None, log.read_text()[-3000:]
        status, headers, body = health
        assert status == 200 and json.loads(body) == {
            "status": "ok",
            "database": "ok",
            "redis": "ok",
        }
        assert headers.get("X-Request-Id")
        deadline = time.monotonic() + 30
        while not (workers := Worker.all(connection=Redis.from_url(REDIS_URL))):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        assert [queue.name for queue in workers[0].queues] == ["lms"]
        status, headers, _ = Client(port, timeout=5).request("GET", "/login")
        assert status == 200
        time.sleep(0.5)
        # Production logs are JSON lines; each request's carries its id, status and time.
        entries = [json.loads(line) for line in log.read_text().splitlines() if line[:1] == "{"]
        (access,) = [e for e in entries if e.get("request_id") == headers["X-Request-Id"]]
        assert access["path"] == "/login" and access["status"] == 200 and access["ms"] >= 0
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
