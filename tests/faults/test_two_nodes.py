"""Two app nodes behind nginx (deploy/nginx-two-nodes.conf), sharing PostgreSQL, Redis and the
files folder: one node is killed with SIGKILL in the middle of a 200-trainee quiz, the other
keeps serving, the clients' retries land, and no acknowledged answer is lost."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench._serving import Client, Gunicorn, free_port
from tests.faults.conftest import PASSWORD, QUESTIONS, REDIS_URL, _prepare, database
from tests.figures import report

pytestmark = [pytest.mark.faults, pytest.mark.once]

REPO = Path(__file__).resolve().parents[2]
NGINX_CONF = REPO / "deploy" / "nginx-two-nodes.conf"
TRAINEES = 200
NODE_ARGS = ["-c", "python:lms.gunicorn_conf", "-w", "1", "--timeout", "30"]
SAVES_BEFORE_KILL = 200
SAVES_AFTER_KILL = 200
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ATTEMPT_RE = re.compile(r"/quizzes/attempts/(\d+)$")


class Nginx:
    """nginx with its own prefix and config in `folder`, the shipped server block included with
    the nodes' and its own ports put in; stop() ends it."""

    def __init__(self, folder: Path, nodes: list[int]) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.port = free_port()
        prefix = folder / "nginx"
        (prefix / "logs").mkdir(parents=True)
        server = NGINX_CONF.read_text()
        server = server.replace("127.0.0.1:8001", f"127.0.0.1:{nodes[0]}")
        server = server.replace("127.0.0.1:8002", f"127.0.0.1:{nodes[1]}")
        server = server.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        assert f"127.0.0.1:{nodes[1]}" in server and f":{self.port};" in server
        temp = "".join(
            f"{kind}_temp_path {prefix / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (prefix / "nginx.conf").write_text(
            f"pid {prefix / 'nginx.pid'};\nerror_log {prefix / 'logs' / 'error.log'} warn;\n"
            "worker_processes 1;\nevents { worker_connections 1024; }\n"
            f"http {{\naccess_log {prefix / 'logs' / 'access.log'};\n{temp}{server}\n}}\n"
        )
        self.error_log = prefix / "logs" / "error.log"
        command = [binary, "-p", str(prefix), "-e", str(self.error_log)]
        command += ["-c", str(prefix / "nginx.conf"), "-g", "daemon off;"]
        with (prefix / "logs" / "stderr.log").open("wb") as stderr:
            self.process = subprocess.Popen(command, stderr=stderr)
        deadline = time.monotonic() + 15
        while True:
            assert self.process.poll() is None, (prefix / "logs" / "stderr.log").read_text()
            try:
                Client(self.port, timeout=5).request("GET", "/login")
                return
            except OSError:
                assert time.monotonic() < deadline, self.error_log.read_text()
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def two_nodes(tmp_path) -> Iterator[tuple[Nginx, list[Gunicorn], dict, str]]:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed (make system-deps installs it)")
        pytest.skip("nginx is not installed (make system-deps installs it)")
    with database() as name:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        os.environ["LMS_INSTANCE_PATH"] = str(tmp_path)
        prepared = _prepare(url, trainees=TRAINEES)
        env = {
            "LMS_ENV": "production",
            "LMS_SECRET_KEY": secrets.token_urlsafe(48),  # the same on both: one signed session
            "LMS_DATABASE_URL": url,
            "LMS_REDIS_URL": REDIS_URL,
            "LMS_RQ_QUEUE": name,
            "LMS_INSTANCE_PATH": str(tmp_path),  # the shared files folder
            "LMS_TRUSTED_PROXIES": "1",
            "LMS_LOGIN_LIMIT_PER_IP": "10000 per minute",
        }
        nodes: list[Gunicorn] = []
        nginx = None
        try:
            for _ in range(2):
                nodes.append(Gunicorn("lms:create_app()", tmp_path, NODE_ARGS, env))
            nginx = Nginx(tmp_path, [node.port for node in nodes])
            yield nginx, nodes, prepared, name
        finally:
            if nginx is not None:
                nginx.stop()
            for node in nodes:
                node.stop()


def _sql(database_name: str, query: str, *params) -> list[tuple]:
    import psycopg

    dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={database_name}"
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


class Trainee(threading.Thread):
    """Signs in, starts the quiz and saves answer after answer through nginx, each request
    retried as the quiz page's script does (on a network error, a 5xx or a 429, with a growing
    pause), until told to stop; then submits, retried too."""

    def __init__(self, port: int, quiz_id: int, username: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.quiz_id, self.username, self.stop = port, quiz_id, username, stop
        self.attempt: int | None = None
        self.acknowledged: dict[int, tuple[dict, int]] = {}  # position → (response, seq)
        self.saves = 0
        self.retries = 0
        self.submitted = False
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as error:  # reported by the test
            self.error = error

    def _retried(self, method: str, path: str, body, headers, accept):
        for tries in range(1, 30):
            try:
                status, got, data = self.client.request(method, path, body, headers)
                if accept(status, got, data):
                    self.retries += tries - 1
                    return status, got, data
                assert status >= 500 or status == 429, (path, status, data[:300])
            except (OSError, http.client.HTTPException):
                pass  # the node died under the request
            time.sleep(min(1.0, 0.05 * 2**tries))
        raise AssertionError(f"{self.username}: {method} {path} never acknowledged")

    def _patiently(self, call):
        """Sign-in and page loads: a person tries again when the page does not come."""
        for tries in range(1, 10):
            try:
                return call()
            except (OSError, http.client.HTTPException, AssertionError):
                if tries == 9:
                    raise
                self.retries += 1
                time.sleep(min(1.0, 0.05 * 2**tries))
        return None

    def _run(self) -> None:
        self.client = Client(self.port, timeout=30)
        quiz = f"/quizzes/{self.quiz_id}"
        self._patiently(lambda: self.client.login(self.username, PASSWORD))
        token = self._patiently(lambda: self.client.csrf_token(quiz))
        _, headers, _ = self._retried(
            "POST",
            f"{quiz}/start",
            urllib.parse.urlencode({"csrf_token": token}),
            FORM,
            lambda s, h, _d: s == 302 and ATTEMPT_RE.search(h.get("Location", "")),
        )
        self.attempt = int(ATTEMPT_RE.search(headers["Location"]).group(1))
        token = self._patiently(lambda: self.client.csrf_token(f"/quizzes/attempts/{self.attempt}"))
        save_headers = {"Content-Type": "application/json", "X-CSRFToken": token}
        seq = 0
        while not self.stop.is_set():
            seq += 1
            for position in range(1, QUESTIONS + 1):
                response = {"blanks": [f"{self.username}-{position}-{seq}"]}
                body = json.dumps({"position": position, "response": response, "seq": seq})
                self._retried(
                    "POST",
                    f"/quizzes/attempts/{self.attempt}/answer",
                    body,
                    save_headers,
                    lambda s, _h, d: s == 200 and json.loads(d).get("ok") is True,
                )
                self.acknowledged[position] = (response, seq)
                self.saves += 1
        self._retried(
            "POST",
            f"/quizzes/attempts/{self.attempt}/submit",
            urllib.parse.urlencode({"csrf_token": token}),
            FORM,
            lambda s, h, _d: s == 302 and h.get("Location", "").endswith("/result"),
        )
        self.submitted = True


def _kill_node(node: Gunicorn) -> None:
    """SIGKILL the node's master and workers at once, as a machine that loses power."""
    for pid in [node.process.pid, *node.workers()]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    node.process.wait()


def test_one_of_two_nodes_killed_mid_quiz_loses_no_acknowledged_answer(two_nodes):
    nginx, nodes, prepared, name = two_nodes
    stop = threading.Event()
    trainees = [
        Trainee(nginx.port, prepared["quiz_id"], username, stop)
        for username in prepared["trainees"]
    ]
    for trainee in trainees:
        trainee.start()

    def saves() -> int:
        assert not [t.error for t in trainees if t.error], [t.error for t in trainees if t.error]
        return sum(t.saves for t in trainees)

    try:
        deadline = time.monotonic() + 60
        while saves() < SAVES_BEFORE_KILL:
            assert time.monotonic() < deadline, "the quiz did not get going"
            time.sleep(0.1)
        _kill_node(nodes[0])
        killed_at = saves()
        deadline = time.monotonic() + 60
        while saves() < killed_at + SAVES_AFTER_KILL:
            assert time.monotonic() < deadline, "the other node did not carry on"
            time.sleep(0.1)
    finally:
        stop.set()
        for trainee in trainees:
            trainee.join(60)
    assert not [t.error for t in trainees if t.error]
    assert all(t.submitted for t in trainees)
    # The survivor answers directly too: it was never the one that was killed.
    assert Client(nodes[1].port, timeout=5).request("GET", "/login")[0] == 200
    with pytest.raises(OSError):
        Client(nodes[0].port, timeout=5).request("GET", "/login")

    stored = {
        (attempt, position): (response, seq)
        for attempt, position, response, seq in _sql(
            name,
            "SELECT attempt_id, position, response, saved_seq FROM attempt_questions"
            " WHERE attempt_id = ANY(%s)",
            [t.attempt for t in trainees],
        )
    }
    lost = [
        (t.username, position)
        for t in trainees
        for position, expected in t.acknowledged.items()
        if stored.get((t.attempt, position)) != expected
    ]
    attempts = _sql(
        name,
        "SELECT member_id, count(*), count(score) FILTER (WHERE finished_at IS NOT NULL)"
        " FROM attempts WHERE quiz_id = %s GROUP BY member_id",
        prepared["quiz_id"],
    )
    total, retries = saves(), sum(t.retries for t in trainees)
    duplicates = sum(count - 1 for _m, count, _g in attempts)
    report(
        f"fault suite: SIGKILL of one of two nginx-balanced nodes during {len(trainees)} "
        f"trainees' quizzes: {total} autosaves acknowledged ({total - killed_at} after the kill), "
        f"{retries} requests retried, answers lost {len(lost)}, duplicate attempts {duplicates}"
    )
    assert lost == []
    assert len(attempts) == len(trainees) and duplicates == 0
    assert all(count == 1 and graded == 1 for _member, count, graded in attempts), attempts
