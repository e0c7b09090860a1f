"""`make serve`, exactly as the README's Deploy section runs it: migrations, gunicorn and an RQ
worker from environment variables, on PostgreSQL and Redis."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, Worker

from bench._serving import Client, free_port
from tests.faults.conftest import REDIS_URL, database

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.faults, pytest.mark.once]


def test_make_serve_runs_gunicorn_and_an_rq_worker(tmp_path):
    with database() as name:
        queue = f"{name}-queue"  # its own: no other run's worker or job is involved
        port = free_port()
        env = {
            **os.environ,
            "LMS_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
            "LMS_REDIS_URL": REDIS_URL,
            "LMS_RQ_QUEUE": queue,
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
            _check_serving(port, queue, log)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(serve.pid, signal.SIGTERM)
            try:
                serve.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(serve.pid, signal.SIGKILL)
                serve.wait()


def _check_serving(port: int, queue: str, log: Path) -> None:
    health = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            health = Client(port, timeout=5).request("GET", "/healthz")
            break
        except OSError:
            time.sleep(0.5)
    assert health is not None, log.read_text()[-3000:]
    status, headers, body = health
    assert status == 200 and json.loads(body) == {"status": "ok", "database": "ok", "redis": "ok"}
    deadline = time.monotonic() + 30
    redis = Redis.from_url(REDIS_URL)
    while not (workers := Worker.all(connection=redis, queue=Queue(queue, connection=redis))):
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.5)
    assert len(workers) == 1
    status, headers, _ = Client(port, timeout=5).request("GET", "/login")
    assert status == 200
    time.sleep(0.5)
    # Production logs are JSON lines; each request's carries its id, status and time.
    entries = [json.loads(line) for line in log.read_text().splitlines() if line[:1] == "{"]
    (access,) = [e for e in entries if e.get("request_id") == headers["X-Request-Id"]]
    assert access["path"] == "/login" and access["status"] == 200 and access["ms"] >= 0
