"""Fault suite against gunicorn + PostgreSQL + Redis (see conftest.py for the site).

- kill -9 a worker 20 times while 20 trainees take a quiz: every acknowledged autosave is kept;
- PostgreSQL goes away during requests: a friendly 503 page, then recovery without a restart;
- Redis goes away: sign-in still works and certificates are still issued, and the page says so;
- an upload cut off half-way, or a disk that fills up: no partial file, nothing in the database.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from pathlib import Path

import pytest

from bench._serving import Client, Gunicorn
from tests.faults.conftest import (
    FAILED_SIGN_INS,
    GUNICORN_ARGS,
    ORGANIZER,
    PASSWORD,
    QUESTIONS,
    Site,
)
from tests.figures import report

# The site has its own PostgreSQL database: one pass (the first) is enough.
pytestmark = [pytest.mark.faults, pytest.mark.once]

KILLS = 20
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ATTEMPT_RE = re.compile(r"/quizzes/attempts/(\d+)$")


def _form(**fields) -> bytes:
    return urllib.parse.urlencode(fields).encode()


class Unanswered(AssertionError):
    pass


def _until(call, accept, seconds: float = 60):
    """Repeat `call()` (as the quiz page's autosave does) until `accept(result)`; count tries."""
    deadline = time.monotonic() + seconds
    tries = 0
    while True:
        tries += 1
        try:
            result = call()
            if accept(result):
                return result, tries
        except (OSError, http.client.HTTPException):  # the worker died under the request
            result = None
        if time.monotonic() > deadline:
            raise Unanswered(f"no acceptable answer after {tries} tries: {result!r:.300}")
        time.sleep(0.05)


class Trainee(threading.Thread):
    """Starts the quiz, then saves answers question after question, each save retried until the
    server acknowledges it, until told to stop; then submits (retried too)."""

    def __init__(self, site: Site, username: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.site, self.username, self.stop = site, username, stop
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

    def _run(self) -> None:
        client = self.site.client(self.username, PASSWORD, timeout=15)
        quiz = f"/quizzes/{self.site.quiz_id}"
        token = client.csrf_token(quiz)
        status, headers, _ = client.request("POST", f"{quiz}/start", _form(csrf_token=token), FORM)
        match = ATTEMPT_RE.search(urllib.parse.urlsplit(headers.get("Location", "")).path)
        assert status == 302 and match, (status, headers)
        self.attempt = int(match.group(1))
        token = client.csrf_token(f"/quizzes/attempts/{self.attempt}")
        save_headers = {"Content-Type": "application/json", "X-CSRFToken": token}
        seq = 0
        while not self.stop.is_set():
            seq += 1
            for position in range(1, QUESTIONS + 1):
                response = {"blanks": [f"{self.username}-{position}-{seq}"]}
                body = json.dumps({"position": position, "response": response, "seq": seq})
                _, tries = _until(
                    lambda body=body: client.request(
                        "POST", f"/quizzes/attempts/{self.attempt}/answer", body, save_headers
                    ),
                    lambda r: r[0] == 200 and json.loads(r[2]).get("ok") is True,
                )
                self.acknowledged[position] = (response, seq)
                self.saves += 1
                self.retries += tries - 1
        submit = f"/quizzes/attempts/{self.attempt}/submit"
        _, tries = _until(
            lambda: client.request("POST", submit, _form(csrf_token=token), FORM),
            lambda r: r[0] == 302 and r[1].get("Location", "").endswith("/result"),
        )
        self.retries += tries - 1
        self.submitted = True


def test_kill_9_workers_mid_quiz_keeps_every_acknowledged_answer(site: Site):
    stop = threading.Event()
    trainees = [Trainee(site, username, stop) for username in site.trainees]
    for trainee in trainees:
        trainee.start()
    started = time.monotonic()
    while not all(t.acknowledged or t.error for t in trainees):
        assert time.monotonic() - started < 120, "the trainees did not get going"
        time.sleep(0.2)
    killed = []
    try:
        for _ in range(KILLS):
            victim = random.choice(site.server.workers())
            before = sum(t.saves for t in trainees)
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
            deadline = time.monotonic() + 60
            # Wait for the master to replace the worker and for the quiz to carry on.
            while len(site.server.workers()) < 2 or sum(t.saves for t in trainees) < before + 20:
                assert time.monotonic() < deadline, "the site did not recover from kill -9"
                assert not any(t.error for t in trainees), [t.error for t in trainees if t.error]
                time.sleep(0.1)
            time.sleep(random.uniform(0.1, 0.6))
    finally:
        stop.set()
        for trainee in trainees:
            trainee.join(120)
    assert not [t.error for t in trainees if t.error]
    assert len(set(killed)) == KILLS and all(t.submitted for t in trainees)

    stored = {
        (attempt, position): (response, seq)
        for attempt, position, response, seq in site.sql(
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
    attempts = site.sql(
        "SELECT a.member_id, count(*), count(a.score) FILTER (WHERE a.finished_at IS NOT NULL)"
        " FROM attempts a WHERE a.quiz_id = %s GROUP BY a.member_id",
        site.quiz_id,
    )
    saves = sum(t.saves for t in trainees)
    retries = sum(t.retries for t in trainees)
    report(
        f"fault suite: kill -9 of a gunicorn worker x{KILLS} during {len(trainees)} trainees' "
        f"quizzes: {saves} autosaves acknowledged, {retries} requests retried, "
        f"answers lost {len(lost)}"
    )
    assert lost == []
    assert len(attempts) == len(trainees)
    assert all(count == 1 and graded == 1 for _member, count, graded in attempts), attempts


def _get(client: Client, path: str):
    try:
        return client.request("GET", path)
    except (OSError, http.client.HTTPException) as error:
        return 0, {}, str(error).encode()


def test_postgresql_going_away_gives_a_friendly_page_then_recovers(site: Site):
    organizer = site.client(*ORGANIZER)
    trainee = site.client(site.trainees[0], PASSWORD)
    assert _get(organizer, "/courses/")[0] == 200
    workers = sorted(site.server.workers())
    statuses: Counter = Counter()
    unfriendly: list[bytes] = []
    lock = threading.Lock()
    stop = threading.Event()

    def browse(client: Client, paths: list[str]) -> None:
        while not stop.is_set():
            for path in paths:
                status, _, body = _get(client, path)
                with lock:
                    statuses[status] += 1
                    if status != 200 and "暂时连接不上数据库".encode() not in body:
                        unfriendly.append(body[:300])

    browsers = [
        threading.Thread(target=browse, args=(who, paths), daemon=True)
        for who, paths in (
            (organizer, ["/courses/", "/sessions/"]),
            (trainee, ["/", f"/quizzes/{site.quiz_id}"]),
        )
    ]
    for thread in browsers:
        thread.start()
    recovered_after = None
    try:
        time.sleep(1)
        # What a restart does: the server ends every backend (FATAL: terminating connection
        # due to administrator command), then refuses connections until it is back.
        terminated = site.sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            site.database,
        )[0][0]
        site.postgres.down()
        time.sleep(1)
        status, _, page = _get(organizer, "/sessions/")
        health = _get(Client(site.server.port), "/healthz")
        time.sleep(2)
        site.postgres.up()
        start = time.monotonic()
        while time.monotonic() - start < 20:
            if _get(organizer, "/courses/")[0] == 200:
                recovered_after = time.monotonic() - start
                break
            time.sleep(0.2)
        time.sleep(1)
    finally:
        stop.set()
        site.postgres.up()  # a no-op unless something above failed while it was down
        for thread in browsers:
            thread.join(30)
    after = [_get(organizer, path)[0] for path in ("/courses/", "/sessions/", "/")]
    report(
        f"fault suite: PostgreSQL restarted ({terminated} backends ended, then down 3 s) under "
        f"{sum(statuses.values())} requests: "
        f"{dict(statuses)}; back to 200 {recovered_after:.2f} s after it returned, "
        "same gunicorn workers"
        if recovered_after is not None
        else "fault suite: PostgreSQL outage: no recovery"
    )
    assert status == 503 and "暂时连接不上数据库" in page.decode()
    assert "Traceback" not in page.decode()
    assert health[0] == 503 and json.loads(health[2])["database"] == "unreachable"
    assert statuses[503] > 0 and set(statuses) <= {200, 503}, statuses
    assert unfriendly == []
    assert recovered_after is not None and after == [200, 200, 200]
    assert sorted(site.server.workers()) == workers  # recovered without restarting anything


def _session(sid: int) -> list[int]:
    """The processes of session `sid`, whoever their parent is now."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[3]) == sid:
            found.append(int(stat.parent.name))
    return found


def _wait_for_job(site: Site, job_id: int) -> tuple[str, int, int]:
    start = time.monotonic()
    while True:
        (job,) = site.sql("SELECT status, issued, total FROM issuance_jobs WHERE id = %s", job_id)
        if job[0].lower() in ("done", "failed"):
            return job
        assert time.monotonic() - start < 120, job
        time.sleep(0.5)


def test_with_redis_up_the_rq_worker_issues_the_certificates(site: Site):
    """The production path: the web process queues the job, `rq worker` (as `make serve` runs
    it) builds its own app from the environment and issues the 20 certificates."""
    organizer = site.client(*ORGANIZER)
    rq = str(Path(sys.executable).parent / "rq")
    path = f"/certificates/sessions/{site.graduated_session_id}"
    token = organizer.csrf_token(path)
    status, headers, _ = organizer.request("POST", f"{path}/issue", _form(csrf_token=token), FORM)
    assert status == 302, status
    _, _, page = organizer.request("GET", urllib.parse.urlsplit(headers["Location"]).path)
    assert "Redis" not in page.decode()  # queued, no fallback
    (job_id,) = (int(n) for n in re.findall(r"/certificates/jobs/(\d+)", headers["Location"]))
    assert site.sql("SELECT status FROM issuance_jobs WHERE id = %s", job_id)[0][0].lower() in (
        "queued",
    )
    log = site.folder / "rq-worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [rq, "worker", "--burst", "--url", site.env["LMS_REDIS_URL"], site.env["LMS_RQ_QUEUE"]],
            env={**os.environ, **site.env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its session holds everything it starts
        )
    try:
        worker.wait(timeout=180)
    finally:
        left_behind = [pid for pid in _session(worker.pid) if pid != worker.pid]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    assert worker.returncode == 0, log.read_text()[-2000:]
    assert left_behind == []  # the job's render processes ended with it
    status, issued, total = _wait_for_job(site, job_id)
    files = site.sql(
        "SELECT count(DISTINCT pdf_sha256) FROM certificates WHERE session_id = %s",
        site.graduated_session_id,
    )[0][0]
    report(f"fault suite (baseline): Redis up, rq worker issued {issued} of {total} certificates")
    assert status.lower() == "done" and issued == total == 20 and files == 20
    on_disk = list((site.folder / "certificates").rglob("*.pdf"))
    assert len(on_disk) >= 20


def test_redis_going_away_still_signs_in_and_issues_certificates(site: Site):
    organizer = site.client(*ORGANIZER)
    path = f"/certificates/sessions/{site.finished_session_id}"
    token = organizer.csrf_token(path)
    site.redis.down()
    try:
        health = _get(Client(site.server.port), "/healthz")
        # Sign-in works, and failed sign-ins are still limited, counted in each worker's memory:
        # of 2 × limit + 1 failures, some worker sees more than the limit.
        trainee = site.client(site.trainees[1], PASSWORD)
        assert _get(trainee, "/")[0] == 200
        guesser = Client(site.server.port, timeout=30)
        guess = _form(
            csrf_token=guesser.csrf_token("/login"),
            username=site.trainees[2],
            password="wrong",
            next="",
        )
        throttled = [
            guesser.request("POST", "/login", guess, FORM) for _ in range(2 * FAILED_SIGN_INS + 1)
        ]
        assert any(
            status == 429 and "登录失败次数过多".encode() in page for status, _, page in throttled
        ), [status for status, _, _ in throttled]
        status, headers, _ = organizer.request(
            "POST", f"{path}/issue", _form(csrf_token=token), FORM
        )
        assert status == 302, status
        status, _, page = organizer.request("GET", urllib.parse.urlsplit(headers["Location"]).path)
        assert status == 200 and "后台队列（Redis）暂时连接不上" in page.decode()
        (job_id,) = (int(n) for n in re.findall(r"/certificates/jobs/(\d+)", headers["Location"]))
        status, issued, total = _wait_for_job(site, job_id)
    finally:
        site.redis.up()
    stored = site.sql(
        "SELECT count(*) FROM certificates WHERE session_id = %s", site.finished_session_id
    )[0][0]
    report(
        f"fault suite: Redis down: /healthz {health[0]}, sign-in works and failed ones are "
        f"still throttled, the certificate job ran "
        f"in a thread: {issued} of {total} issued, {stored} stored"
    )
    assert health[0] == 503 and json.loads(health[2])["redis"] == "unreachable"
    assert status.lower() == "done" and stored == issued == total > 0
    assert _get(Client(site.server.port), "/healthz")[0] == 200


def _multipart_head(token: str, boundary: str, name: str) -> bytes:
    fields = {"csrf_token": token, "title": "中断的上传", "visibility": "enrolled"}
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    return (
        head
        + (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
    )


def _materials(site: Site) -> int:
    return site.sql("SELECT count(*) FROM material_versions")[0][0]


def test_an_upload_cut_off_half_way_leaves_nothing(site: Site):
    lecturer = site.client("lecturer2", "Lecturer2@2026")
    path = f"/materials/upload/lesson/{site.lesson_id}"
    token = lecturer.csrf_token(path)
    before, rows = site.uploads(), _materials(site)
    boundary = uuid.uuid4().hex
    head = _multipart_head(token, boundary, "讲义.pdf")
    sock = socket.create_connection(("127.0.0.1", site.server.port))
    sock.sendall(
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {lecturer.cookie_header()}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(head) + 40 * 1024 * 1024}\r\n\r\n"
        ).encode()
        + head
        + b"%PDF-1.7\n"
    )
    for _ in range(8):
        sock.sendall(bytes(1024 * 1024))
    time.sleep(0.5)
    receiving = site.uploads() - before  # the body is being spooled to a temporary file
    sock.close()  # the lecturer's train went into a tunnel
    deadline = time.monotonic() + 10
    while site.uploads() != before and time.monotonic() < deadline:
        time.sleep(0.1)
    report(
        "fault suite: upload cut off after 8 of 40 MB: "
        f"{len(receiving)} temporary file while receiving, {len(site.uploads() - before)} after"
    )
    assert len(receiving) == 1 and next(iter(receiving)).parent.name == "tmp"
    assert site.uploads() == before and _materials(site) == rows


def test_a_full_disk_refuses_the_upload_and_leaves_nothing(site: Site):
    """A second server whose processes may not write files over 2 MB (RLIMIT_FSIZE, so writes
    fail with EFBIG as a full disk fails them with ENOSPC) takes a 6 MB upload. The disk fills
    while the body is spooled; a disk filling later, while the checked file is stored, is
    tested in-process (tests/test_faults.py)."""

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (2 * 1024 * 1024, 2 * 1024 * 1024))

    folder = site.folder / "full-disk"
    folder.mkdir(exist_ok=True)
    server = Gunicorn("lms:create_app()", folder, GUNICORN_ARGS, site.env, preexec_fn=small_files)
    try:
        lecturer = Client(server.port, timeout=30)
        lecturer.login("lecturer2", "Lecturer2@2026")
        path = f"/materials/upload/lesson/{site.lesson_id}"
        token = lecturer.csrf_token(path)
        before, rows = site.uploads(), _materials(site)
        boundary = uuid.uuid4().hex
        body = (
            _multipart_head(token, boundary, "大讲义.pdf")
            + b"%PDF-1.7\n"
            + bytes(6 * 1024 * 1024)
            + f"\r\n--{boundary}--\r\n".encode()
        )
        status, _, page = lecturer.request(
            "POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        after = site.uploads()
    finally:
        server.stop()
    report(
        f"fault suite: disk full during a 6 MB upload: HTTP {status}, "
        f"{len(after - before)} files left"
    )
    assert status == 507 and "存储空间不足" in page.decode()
    assert after == before and _materials(site) == rows
