"""Quiz peak: a cohort takes the same 20-question quiz at once, in three scenarios (SCENARIOS):
500 trainees arriving over 60 s (target autosave p95 ≤ 150 ms), an exam bell where all 500 press
开始 within 5 s (target start p95 ≤ 1 s, no errors), and a bell of 1,000. Each scenario has its own
quiz and runs on the real app and on the bare one; every figure below is per scenario.

What is measured. The real app is served by gunicorn (GUNICORN_ARGS) on PostgreSQL, with Redis as
the rate limiter's store, in a fresh database made for the run (migrated, demo content loaded,
dropped at the end). 500 trainee accounts are enrolled in one session that has one published quiz
of 20 fixed questions from the demo bank 「党章党规知识题库」 (single, multiple, true/false and
fill-in; 30 minutes, one attempt, questions and options shuffled). Everyone signs in first (set-up,
not measured). Then each simulated trainee, starting at a random moment within 60 s, starts the
quiz, opens the first question page, autosaves every question 1–3 times (later saves change the
answer, with an increasing `seq`; now and then a change clears it), thinking 0.2–1.5 s before each
save, and submits; 20% submit twice (half of those one after the other, half at once, like a
double click). Each trainee uses one keep-alive connection. The client is one asyncio loop on the
same 2 cores, written against raw sockets to stay lean.

Autosave latency (p50/p95/p99) is over every autosave request; req/s is every request of the
mix over the measured phase. Because the trainees think between requests, req/s is set by the
demand while the server keeps up, so the ratio to the bare app that matters is the p95 one.

Checks afterwards, in the database: every acknowledged autosave (HTTP 200, ok=true) must be what
is stored for its question, i.e. the stored (response, saved_seq) equals the highest-seq
acknowledged save of that question (answers_lost counts the questions where it does not), and
every trainee has exactly one attempt, finished and with a score (duplicate_attempts, ungraded).

The baseline, in the same run and against the same PostgreSQL server and gunicorn settings, is a
bare Flask + Flask-SQLAlchemy app (bench/_quiz_bare.py) driven by the same client code with the
same trainees, think times and saves: start inserts a row, the page is a fixed string, autosave
upserts one row and commits, submit is one UPDATE.

Shortcuts, none of which touch what is measured: the trainees' password hashes are
pbkdf2:sha256 with 1,000 rounds (the real scrypt hash costs ~115 ms each, and this measures
quizzes, not sign-in); the client learns each attempt's question layout (which position holds
which type of question) from the database rather than by loading all 20 pages, while every
autosave goes over HTTP; the submit's redirect to the result page is not followed.

Where the time goes: afterwards, 20 more trainees take a quiz in-process (Flask test client, the
same PostgreSQL; one more goes first, unmeasured, to compile templates and statements); for each
request kind (start, question page, autosave, submit) it reports the mean time the WSGI app took
per request (wall clock, and this process's CPU time, which other load on the machine does not
inflate; the test client's own work of building the request and reading the response is left
out), the SQL statements it ran and the time spent in them; and the bare app's time for the same
requests, measured the same way.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import secrets
import statistics
import tempfile
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psycopg

from bench._serving import CSRF_RE, Client, Gunicorn

QUESTIONS = 20
MIX = {"single": 9, "multiple": 4, "true_false": 4, "fill_blank": 3}
THINK_SECONDS = (0.2, 1.5)
SAVES_PER_QUESTION = ([1, 2, 3], [60, 30, 10])
CLEAR_SHARE = 0.05  # of the changed answers, how many clear the question instead
DOUBLE_SUBMIT_SHARE = 0.2
REQUEST_TIMEOUT = 60.0
TARGET_P95_MS = 150
PASSWORD = "Bench@2026"
BANK = "党章党规知识题库"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/15"
# 2 cores shared by gunicorn, PostgreSQL and the client. Autosave p95 of the app alone on this
# machine: gthread -w 2 --threads 4 418 ms, -w 2 --threads 2 947 ms, -w 2 --threads 8 1403 ms,
# -w 3 --threads 4 1508 ms, -w 4 --threads 4 2771 ms; sync -w 4 1180 ms (no keep-alive). More
# processes than cores only add contention. The app's own settings (lms/gunicorn_conf.py:
# gthread, 4 threads, a 0.5 ms GIL switch interval), for the bare app too, as `make serve` runs
# it. BENCH_QUIZ_GUNICORN overrides them to try others.
GUNICORN_ARGS = os.environ.get(
    "BENCH_QUIZ_GUNICORN", "-c python:lms.gunicorn_conf -w 2 --keep-alive 5"
).split()
BLANK_WORDS = ["中国共产党", "为人民服务", "民主集中制", "全心全意", "党的建设", "四个意识"]
BELL_SECONDS = 5.0
TARGET_BELL_START_P95_MS = 1000
# In-process profile: each starts, opens a page, saves 20 answers, submits; one more trainee
# goes first, unmeasured, so that compiling templates and statements is not counted.
PROFILE_TRAINEES = 20
# BENCH_QUIZ_SCALE=0.1 shrinks every cohort (and the arrival window, not below the bell's) to
# smoke-test the bench on a busy machine; its figures are not the bench's.
SCALE = float(os.environ.get("BENCH_QUIZ_SCALE", "1"))


@dataclass(frozen=True)
class Scenario:
    """A cohort of `trainees`, each pressing 开始 at a random moment within `arrival_seconds`."""

    name: str
    trainees: int
    arrival_seconds: float

    def scaled(self) -> Scenario:
        if SCALE == 1:
            return self
        return Scenario(
            self.name,
            max(10, round(self.trainees * SCALE)),
            max(BELL_SECONDS, self.arrival_seconds * SCALE),
        )


# BENCH_QUIZ_SCENARIOS=arrivals (names, comma-separated) runs only those scenarios, for a quick
# look at one; the bench's own figures run them all.
ONLY = {name for name in os.environ.get("BENCH_QUIZ_SCENARIOS", "").split(",") if name}
SCENARIOS = [
    s.scaled()
    for s in (
        Scenario("arrivals", 500, 60.0),  # the cohort trickles in over a minute
        Scenario("bell", 500, BELL_SECONDS),  # an exam bell: everyone presses 开始 at once
        Scenario("bell_1000", 1000, BELL_SECONDS),  # two cohorts' exam at once
    )
    if not ONLY or s.name in ONLY
]


def _url(name: str, driver: str = "+psycopg") -> str:
    return f"postgresql{driver}://postgres@127.0.0.1:5432/{name}"


# --- set-up ----------------------------------------------------------------------------------


def _create_database() -> str:
    name = f"lms_bench_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _prepare(folder: Path, url: str, trainees: int):
    """Migrate, load the demo, add the trainees; return (app, session id, question ids, usernames).
    Each scenario gets a quiz of its own on those questions (_add_quiz)."""
    os.environ["LMS_INSTANCE_PATH"] = str(folder)
    os.environ["LMS_DATABASE_URL"] = url
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from bench._quiz_bare import db as bare_db
    from bench._quiz_bare import make_app
    from lms import create_app
    from lms.auth.models import Role, User
    from lms.content import load_demo
    from lms.extensions import db
    from lms.org.models import Branch, Category, Gender, Member
    from lms.quizzes.models import Question, QuestionBank
    from lms.sessions.models import Enrollment, EnrollmentStatus, TrainingSession

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        load_demo()
        db.session.commit()
        branch = db.session.scalars(db.select(Branch).order_by(Branch.id)).first()
        session = db.session.scalars(
            db.select(TrainingSession).order_by(TrainingSession.start_date.desc())
        ).first()
        password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        usernames = []
        for n in range(1, trainees + 1):
            member = Member(
                staff_no=f"BENCH{n:04d}",
                name=f"学员{n:03d}",
                gender=Gender.MALE if n % 2 else Gender.FEMALE,
                department_id=branch.department_id,
                branch_id=branch.id,
                category=Category.MEMBER,
            )
            username = f"bench{n:03d}"
            user = User(username=username, display_name=member.name, member=member)
            user.password_hash = password_hash
            user.must_change_password = False
            user.set_roles({Role.TRAINEE})
            db.session.add_all([member, user])
            db.session.add(
                Enrollment(session=session, member=member, status=EnrollmentStatus.CONFIRMED)
            )
            usernames.append(username)
        bank = db.session.scalar(db.select(QuestionBank).where(QuestionBank.name == BANK))
        questions = db.session.scalars(
            db.select(Question)
            .where(Question.bank_id == bank.id, Question.active.is_(True))
            .order_by(Question.id)
        ).all()
        wanted = dict(MIX)
        chosen = []
        for question in questions:
            kind = str(question.current.type)
            if wanted.get(kind, 0) > 0:
                wanted[kind] -= 1
                chosen.append(question)
        assert len(chosen) == QUESTIONS, f"the bank lacks questions: {wanted}"
        db.session.commit()
        session_id, question_ids = session.id, [question.id for question in chosen]
        db.engine.dispose()
    with make_app(url).app_context():
        bare_db.create_all()
        bare_db.engine.dispose()
    return app, session_id, question_ids, usernames


def _add_quiz(app, session_id: int, question_ids: list[int], title: str) -> int:
    """A published quiz of the chosen questions (30 minutes, one attempt, shuffled); its id."""
    from lms.extensions import db
    from lms.quizzes import services
    from lms.quizzes.models import Question, QuizStatus

    with app.app_context():
        quiz = services.create_quiz(
            services.QuizData(
                title=title,
                session_id=session_id,
                time_limit_minutes=30,
                max_attempts=1,
                shuffle_questions=True,
                shuffle_options=True,
            )
        )
        for question_id in question_ids:
            services.add_quiz_item(quiz, db.session.get(Question, question_id), Decimal(5))
        services.set_quiz_status(quiz, QuizStatus.PUBLISHED)
        db.session.commit()
        quiz_id = quiz.id
        db.engine.dispose()
    return quiz_id


def _sign_in(port: int, quiz_id: int, usernames: list[str]) -> list[tuple[str, str]]:
    """Sign everyone in; return each trainee's (cookie header, csrf token: one per sign-in)."""

    def one(username: str) -> tuple[str, str]:
        client = Client(port)
        client.login(username, PASSWORD)
        token = client.csrf_token(f"/quizzes/{quiz_id}")
        return client.cookie_header(), token

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, usernames))


# --- a lean HTTP/1.1 client ------------------------------------------------------------------


class Connection:
    """One keep-alive connection; reconnects when the server closed it (sync workers do)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.cookies: dict[str, str] = {}

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if method != "GET":
            lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        for retry in (True, False):
            reused = self.writer is not None
            if not reused:
                await self._open()
            try:
                self.writer.write(raw)
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed before the response")
            except (ConnectionError, OSError):
                self.close()
                # A kept-alive connection the server had closed: nothing was processed.
                if reused and retry:
                    continue
                raise
            return await self._read_response(status_line)
        raise AssertionError("unreachable")

    async def _read_response(self, status_line: bytes) -> tuple[int, dict[str, str], bytes]:
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
            headers[name] = value
        if "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            data = b""
            while size := int((await self.reader.readline()).strip(), 16):
                data += await self.reader.readexactly(size)
                await self.reader.readline()
            await self.reader.readline()
        else:
            data = await self.reader.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, data


# --- the simulated trainees ------------------------------------------------------------------


@dataclass
class Plan:
    """What one trainee will do, drawn from its own seed so both servers see the same."""

    delay: float
    saves: list[int]  # saves per position
    thinks: list[float]
    submits: int
    together: bool  # the second submit at once, like a double click
    rng: random.Random


def _plans(scenario: Scenario) -> list[Plan]:
    plans = []
    for n in range(scenario.trainees):
        rng = random.Random(n)
        saves = rng.choices(*SAVES_PER_QUESTION, k=QUESTIONS)
        twice = rng.random() < DOUBLE_SUBMIT_SHARE
        plans.append(
            Plan(
                delay=rng.uniform(0, scenario.arrival_seconds),
                saves=saves,
                thinks=[rng.uniform(*THINK_SECONDS) for _ in range(sum(saves) + 1)],
                submits=2 if twice else 1,
                together=twice and rng.random() < 0.5,
                rng=rng,
            )
        )
    return plans


Layout = list[tuple[str, int, int]]  # per position: type, option count, blank count


def _answer(rng: random.Random, kind: str, options: int, blanks: int) -> dict:
    if kind == "fill_blank":
        return {"blanks": [rng.choice(BLANK_WORDS) for _ in range(blanks)]}
    if kind == "true_false":
        return {"choices": [rng.randrange(2)]}
    if kind == "multiple":
        return {"choices": sorted(rng.sample(range(options), rng.randint(1, options)))}
    return {"choices": [rng.randrange(options)]}


@dataclass
class Save:
    attempt: int
    position: int
    seq: int
    response: dict | None
    acknowledged: bool


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    saves: list[Save] = field(default_factory=list)
    layouts: dict[int, Layout] = field(default_factory=dict)  # by trainee index
    attempts: dict[int, int] = field(default_factory=dict)  # trainee index → attempt id
    failures: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())


ATTEMPT_RE = re.compile(r"/quizzes/attempts/(\d+)$")


async def _timed(tally: Tally, kind: str, conn: Connection, *args, **kwargs):
    start = time.perf_counter()
    try:
        status, headers, data = await asyncio.wait_for(
            conn.request(*args, **kwargs), REQUEST_TIMEOUT
        )
    except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
        conn.close()
        tally.latencies[kind].append(time.perf_counter() - start)
        tally.statuses[kind][type(error).__name__] += 1
        return 0, {}, b""
    tally.latencies[kind].append(time.perf_counter() - start)
    tally.statuses[kind][status] += 1
    return status, headers, data


async def _trainee(
    index: int,
    plan: Plan,
    port: int,
    quiz_id: int,
    login: tuple[str, str],
    layout_of: Callable[[int, int], Awaitable[Layout]],
    tally: Tally,
    t0: float,
) -> None:
    await asyncio.sleep(max(0.0, t0 + plan.delay - time.perf_counter()))
    conn = Connection(port)
    cookie, token = login
    for part in filter(None, cookie.split("; ")):
        key, _, value = part.partition("=")
        conn.cookies[key] = value
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    body = urllib.parse.urlencode({"csrf_token": token}).encode()
    status, headers, _ = await _timed(
        tally, "start", conn, "POST", f"/quizzes/{quiz_id}/start", body, form
    )
    location = urllib.parse.urlsplit(headers.get("location", "")).path
    match = ATTEMPT_RE.search(location)
    if status != 302 or not match:
        tally.failures.append(f"trainee {index}: start {status} {location}")
        conn.close()
        return
    attempt = int(match.group(1))
    tally.attempts[index] = attempt
    status, _, page = await _timed(tally, "page", conn, "GET", location)
    found = CSRF_RE.search(page.decode(errors="replace"))
    if status != 200 or not found or b'data-position="1"' not in page:
        tally.failures.append(f"trainee {index}: page {status}")
        conn.close()
        return
    token = found.group(1) or found.group(2)
    layout = await layout_of(index, attempt)
    tally.layouts[index] = layout
    rng = plan.rng
    thinks = iter(plan.thinks)
    save_headers = {"Content-Type": "application/json", "X-CSRFToken": token}
    for position, (count, (kind, options, blanks)) in enumerate(
        zip(plan.saves, layout, strict=True), start=1
    ):
        response: dict | None = None
        for seq in range(1, count + 1):
            await asyncio.sleep(next(thinks))
            if seq > 1 and rng.random() < CLEAR_SHARE:
                response = None
            else:
                previous = response
                while (response := _answer(rng, kind, options, blanks)) == previous:
                    pass  # a later save changes the answer
            payload = json.dumps({"position": position, "response": response, "seq": seq})
            status, _, data = await _timed(
                tally,
                "autosave",
                conn,
                "POST",
                f"/quizzes/attempts/{attempt}/answer",
                payload.encode(),
                save_headers,
            )
            ok = False
            if status == 200:
                reply = json.loads(data)
                ok = reply.get("ok") is True
            tally.saves.append(Save(attempt, position, seq, response, ok))
            if not ok:
                tally.failures.append(f"trainee {index}: autosave {status} {data[:120]!r}")
    await asyncio.sleep(next(thinks))
    path = f"/quizzes/attempts/{attempt}/submit"
    if plan.submits == 2 and plan.together:
        other = Connection(port)
        other.cookies = dict(conn.cookies)
        results = await asyncio.gather(
            _timed(tally, "submit", conn, "POST", path, body, form),
            _timed(tally, "submit", other, "POST", path, body, form),
        )
        other.close()
    else:
        results = [await _timed(tally, "submit", conn, "POST", path, body, form)]
        if plan.submits == 2:
            results.append(await _timed(tally, "submit", conn, "POST", path, body, form))
    for status, headers, _ in results:
        if status != 302 or not headers.get("location", "").endswith(f"{attempt}/result"):
            tally.failures.append(f"trainee {index}: submit {status} {headers.get('location')}")
    conn.close()


async def _drive(
    port: int,
    quiz_id: int,
    scenario: Scenario,
    logins: list[tuple[str, str]],
    layout_of: Callable[[int, int], Awaitable[Layout]],
) -> tuple[Tally, float]:
    tally = Tally()
    plans = _plans(scenario)
    t0 = time.perf_counter() + 0.5
    await asyncio.gather(
        *(
            _trainee(i, plan, port, quiz_id, logins[i], layout_of, tally, t0)
            for i, plan in enumerate(plans)
        )
    )
    return tally, time.perf_counter() - t0


def _run_app(port: int, url: str, quiz_id: int, scenario: Scenario, logins: list[tuple[str, str]]):
    async def main() -> tuple[Tally, float]:
        async with await psycopg.AsyncConnection.connect(
            _url(url.rsplit("/", 1)[1], ""), autocommit=True
        ) as db:
            lock = asyncio.Lock()

            async def layout_of(_index: int, attempt: int) -> Layout:
                async with lock:
                    cursor = await db.execute(
                        "SELECT qv.type::text, json_array_length(qv.options),"
                        " json_array_length(qv.blanks) FROM attempt_questions aq"
                        " JOIN question_versions qv ON qv.id = aq.version_id"
                        " WHERE aq.attempt_id = %s ORDER BY aq.position",
                        (attempt,),
                    )
                    rows = await cursor.fetchall()
                return [(kind.lower(), options, blanks) for kind, options, blanks in rows]

            return await _drive(port, quiz_id, scenario, logins, layout_of)

    return asyncio.run(main())


def _run_bare(port: int, scenario: Scenario, layouts: dict[int, Layout]):
    async def layout_of(index: int, _attempt: int) -> Layout:
        return layouts[index]

    logins = [("", "bare")] * scenario.trainees
    return asyncio.run(_drive(port, 1, scenario, logins, layout_of))


# --- checks ----------------------------------------------------------------------------------


def _expected(saves: list[Save]) -> tuple[dict, dict]:
    """The highest-seq acknowledged save and every save sent, per (attempt, position)."""
    acked: dict[tuple[int, int], Save] = {}
    sent: dict[tuple[int, int, int], Save] = {}
    for save in saves:
        sent[save.attempt, save.position, save.seq] = save
        key = (save.attempt, save.position)
        if save.acknowledged and (key not in acked or acked[key].seq < save.seq):
            acked[key] = save
    return acked, sent


def _lost(saves: list[Save], stored: dict[tuple[int, int], tuple[dict | None, int]]) -> int:
    """Questions whose stored answer is not their last acknowledged save (a newer save that was
    sent but not acknowledged may have won; that is not a loss)."""
    acked, sent = _expected(saves)
    lost = 0
    for key, save in acked.items():
        response, seq = stored.get(key, (None, 0))
        if seq == save.seq and response == save.response:
            continue
        newer = sent.get((*key, seq))
        if seq > save.seq and newer is not None and newer.response == response:
            continue
        lost += 1
    return lost


def _check_app(url: str, quiz_id: int, tally: Tally, usernames: list[str]) -> dict[str, int]:
    with psycopg.connect(_url(url.rsplit("/", 1)[1], "")) as conn:
        stored = {
            (attempt, position): (response, seq)
            for attempt, position, response, seq in conn.execute(
                "SELECT aq.attempt_id, aq.position, aq.response, aq.saved_seq"
                " FROM attempt_questions aq JOIN attempts a ON a.id = aq.attempt_id"
                " WHERE a.quiz_id = %s",
                (quiz_id,),
            )
        }
        per_member = conn.execute(
            "SELECT m.id, count(a.id), count(a.id) FILTER"
            " (WHERE a.status::text <> 'IN_PROGRESS' AND a.status::text <> 'in_progress'"
            " AND a.score IS NOT NULL)"
            " FROM members m JOIN users u ON u.member_id = m.id"
            " LEFT JOIN attempts a ON a.member_id = m.id AND a.quiz_id = %s"
            " WHERE u.username = ANY(%s) GROUP BY m.id",
            (quiz_id, usernames),
        ).fetchall()
    assert len(per_member) == len(usernames), len(per_member)
    return {
        "answers_lost": _lost(tally.saves, stored),
        "duplicate_attempts": sum(max(0, n - 1) for _m, n, _g in per_member),
        "missing_attempts": sum(1 for _m, n, _g in per_member if n == 0),
        "ungraded": sum(n - graded for _m, n, graded in per_member),
    }


def _check_bare(url: str, tally: Tally) -> int:
    with psycopg.connect(_url(url.rsplit("/", 1)[1], "")) as conn:
        stored = {
            (attempt, position): (response, seq)
            for attempt, position, response, seq in conn.execute(
                "SELECT attempt_id, position, response, seq FROM bench_answers"
            )
        }
    return _lost(tally.saves, stored)


# --- what each request costs in-process -------------------------------------------------------

PROFILED = ("start", "page", "autosave", "submit")


def _profile_requests(app, quiz_id: int, usernames: list[str]) -> dict[str, object]:
    """More trainees, in-process (Flask test client, the same PostgreSQL): each starts the quiz,
    opens its first question page, saves every question once and submits. Per request kind:
    the wall time of the request and the SQL statements (and time in SQL) it ran."""
    import sqlalchemy as sa

    from lms.extensions import db

    spent = {
        kind: {"n": 0, "seconds": 0.0, "cpu_seconds": 0.0, "statements": 0, "sql_seconds": 0.0}
        for kind in PROFILED
    }
    current: list[str] = []  # the kind being measured, if any
    begun: list[float] = []

    def before(*_args) -> None:
        begun.append(time.perf_counter())

    def after(*_args) -> None:
        took = time.perf_counter() - begun.pop()
        if current:
            spent[current[0]]["statements"] += 1
            spent[current[0]]["sql_seconds"] += took

    warm = [False]  # the first trainee warms up (templates compiled, statements cached)

    @contextmanager
    def measuring(kind: str) -> Iterator[None]:
        if not warm[0]:
            yield
            return
        current.append(kind)
        try:
            yield
        finally:
            current.clear()

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    served = app.wsgi_app
    app.wsgi_app = _timed_wsgi(served, spent, current)
    try:
        for index, username in enumerate(usernames):
            warm[0] = index > 0
            client = app.test_client()
            token = _token(client.get("/login"))
            client.post(
                "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
            )
            token = _token(client.get(f"/quizzes/{quiz_id}"))
            with measuring("start"):
                started = client.post(f"/quizzes/{quiz_id}/start", data={"csrf_token": token})
            location = started.headers["Location"]
            attempt = int(ATTEMPT_RE.search(location).group(1))
            with measuring("page"):
                page = client.get(location)
            assert page.status_code == 200 and b'data-position="1"' in page.data
            token = _token(page)
            for position, (kind, blanks) in enumerate(_kinds(app, attempt), start=1):
                blank = {"blanks": ["党章"] * blanks}
                response = blank if kind == "fill_blank" else {"choices": [0]}
                with measuring("autosave"):
                    reply = client.post(
                        f"/quizzes/attempts/{attempt}/answer",
                        json={"position": position, "response": response, "seq": 1},
                        headers={"X-CSRFToken": token},
                    )
                assert reply.status_code == 200 and reply.json["ok"], reply.get_data(as_text=True)
            with measuring("submit"):
                done = client.post(
                    f"/quizzes/attempts/{attempt}/submit", data={"csrf_token": token}
                )
            assert done.status_code == 302, done.status_code
    finally:
        app.wsgi_app = served
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
    figures: dict[str, object] = {}
    for kind, s in spent.items():
        figures[kind] = {
            "requests": s["n"],
            "inprocess_ms": round(s["seconds"] * 1000 / s["n"], 2),
            "inprocess_cpu_ms": round(s["cpu_seconds"] * 1000 / s["n"], 2),
            "sql_statements": round(s["statements"] / s["n"], 1),
            "sql_ms": round(s["sql_seconds"] * 1000 / s["n"], 2),
        }
    return figures


def _timed_wsgi(wsgi_app, spent: dict[str, dict], current: list[str]):
    """`wsgi_app` timed while `current` names a request kind: the app's own time (wall clock,
    and this process's CPU, which other load on the machine does not inflate), without the
    test client's work of building the request and reading the response."""

    def timed(environ, start_response):
        if not current:
            return wsgi_app(environ, start_response)
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            return wsgi_app(environ, start_response)
        finally:
            figures = spent[current[0]]
            figures["seconds"] += time.perf_counter() - start
            figures["cpu_seconds"] += time.process_time() - cpu_start
            figures["n"] += 1

    return timed


def _profile_bare(url: str, trainees: int) -> dict[str, object]:
    """The bare app's in-process figures (bench/_quiz_bare.py), the same way: each trainee
    starts, opens the page, saves 20 answers and submits."""
    from bench._quiz_bare import db as bare_db
    from bench._quiz_bare import make_app

    app = make_app(url)
    spent = {kind: {"n": 0, "seconds": 0.0, "cpu_seconds": 0.0} for kind in PROFILED}
    current: list[str] = []
    app.wsgi_app = _timed_wsgi(app.wsgi_app, spent, current)
    client = app.test_client()
    for index in range(trainees + 1):

        def measure(kind: str, warm: bool = index > 0) -> None:
            current[:] = [kind] if warm else []  # the first trainee warms up, as for the app

        measure("start")
        attempt = client.post("/quizzes/1/start").headers["Location"].rsplit("/", 1)[1]
        measure("page")
        client.get(f"/quizzes/attempts/{attempt}")
        measure("autosave")
        for position in range(1, QUESTIONS + 1):
            reply = client.post(
                f"/quizzes/attempts/{attempt}/answer",
                json={"position": position, "response": {"choices": [0]}, "seq": 1},
            )
            assert reply.status_code == 200, reply.status_code
        measure("submit")
        client.post(f"/quizzes/attempts/{attempt}/submit")
        current.clear()
    with app.app_context():
        bare_db.engine.dispose()
    return {
        kind: {
            "inprocess_ms": round(s["seconds"] * 1000 / s["n"], 2),
            "inprocess_cpu_ms": round(s["cpu_seconds"] * 1000 / s["n"], 2),
        }
        for kind, s in spent.items()
    }


def _token(response) -> str:
    found = CSRF_RE.search(response.get_data(as_text=True))
    assert found, response.status_code
    return found.group(1) or found.group(2)


def _kinds(app, attempt: int) -> list[tuple[str, int]]:
    """Each position's question type and blank count (not part of what is measured)."""
    import sqlalchemy as sa

    from lms.extensions import db

    with app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT qv.type::text, json_array_length(qv.blanks) FROM attempt_questions aq"
                " JOIN question_versions qv ON qv.id = aq.version_id"
                " WHERE aq.attempt_id = :a ORDER BY aq.position"
            ),
            {"a": attempt},
        ).all()
        db.session.remove()
    return [(kind.lower(), blanks) for kind, blanks in rows]


# --- the run ---------------------------------------------------------------------------------

KINDS = ("start", "page", "autosave", "submit")


def _ms(values: list[float], cut: int) -> float | None:
    if len(values) < 2:
        return None
    return round(statistics.quantiles(values, n=100)[cut - 1] * 1000, 1)


def _summary(prefix: str, tally: Tally, seconds: float) -> dict[str, object]:
    figures: dict[str, object] = {}
    for kind in KINDS:
        for cut in (50, 95, 99):
            figures[f"{prefix}{kind}_p{cut}_ms"] = _ms(tally.latencies[kind], cut)
    figures |= {
        f"{prefix}req_per_s": round(tally.requests / seconds, 1),
        f"{prefix}requests": tally.requests,
        f"{prefix}errors": sum(
            n
            for kind, counter in tally.statuses.items()
            for status, n in counter.items()
            if status not in (200, 302)
        ),
        f"{prefix}seconds": round(seconds, 1),
        f"{prefix}statuses": {
            kind: {str(k): v for k, v in sorted(c.items(), key=str)}
            for kind, c in sorted(tally.statuses.items())
        },
    }
    return figures


def _log_errors(server: Gunicorn, since: int = 0) -> list[str]:
    """Error lines the server logged after byte `since` of its log."""
    text = server.log.read_bytes()[since:].decode(errors="replace")
    return [
        line
        for line in text.splitlines()
        if re.search(r"Traceback|\[ERROR\]|Exception on|WORKER TIMEOUT|Error:", line)
    ]


@dataclass
class Outcome:
    """One scenario on one server."""

    tally: Tally
    seconds: float
    log_errors: list[str]


def _serve_scenarios(target: str, folder: Path, env: dict[str, str], run_one) -> list[Outcome]:
    """Start gunicorn on `target`, run `run_one(port, index, scenario)` for each scenario."""
    server = Gunicorn(target, folder, GUNICORN_ARGS, env)
    failed = False
    outcomes = []
    try:
        for index, scenario in enumerate(SCENARIOS):
            since = server.log.stat().st_size
            tally, seconds = run_one(server.port, index, scenario)
            outcomes.append(Outcome(tally, seconds, _log_errors(server, since)))
    except BaseException:
        failed = True
        raise
    finally:
        server.stop(failed=failed)
    return outcomes


def _scenario_figures(
    scenario: Scenario, real: Outcome, bare: Outcome, checks: dict[str, int], bare_lost: int
) -> dict[str, object]:
    real_figures = _summary("", real.tally, real.seconds)
    bare_figures = _summary("bare_", bare.tally, bare.seconds)
    autosaves = len(real.tally.saves)
    acknowledged = sum(save.acknowledged for save in real.tally.saves)
    p95 = real_figures["autosave_p95_ms"]
    safe = (
        acknowledged == autosaves
        and checks["answers_lost"] == 0
        and checks["duplicate_attempts"] == 0
        and checks["missing_attempts"] == 0
        and checks["ungraded"] == 0
    )
    if scenario.arrival_seconds <= BELL_SECONDS:
        start_p95 = real_figures["start_p95_ms"]
        meets = safe and real_figures["errors"] == 0 and start_p95 <= TARGET_BELL_START_P95_MS
    else:
        meets = safe and p95 <= TARGET_P95_MS
    return {
        "trainees": scenario.trainees,
        "arrival_seconds": scenario.arrival_seconds,
        **real_figures,
        "autosaves": autosaves,
        "acknowledged": acknowledged,
        **checks,
        "client_failures": len(real.tally.failures),
        "server_log_errors": len(real.log_errors),
        **bare_figures,
        "bare_autosaves": len(bare.tally.saves),
        "bare_acknowledged": sum(save.acknowledged for save in bare.tally.saves),
        "bare_answers_lost": bare_lost,
        "bare_server_log_errors": len(bare.log_errors),
        "ratio": round(real_figures["req_per_s"] / bare_figures["bare_req_per_s"], 3),
        "p95_ratio": round(p95 / bare_figures["bare_autosave_p95_ms"], 2),
        "meets_target": meets,
    }


def _print_side_by_side(name: str, figures: dict[str, object]) -> None:
    print(
        f"quiz_peak[{name}]: {figures['trainees']} trainees pressing 开始 within"
        f" {figures['arrival_seconds']:g} s; ms p50/p95/p99, app | bare app"
    )
    for kind in KINDS:
        cells = [
            "/".join(str(figures[f"{prefix}{kind}_p{cut}_ms"]) for cut in (50, 95, 99))
            for prefix in ("", "bare_")
        ]
        print(f"quiz_peak[{name}]:   {kind:<9}{cells[0]:>24} | {cells[1]}")
    print(
        f"quiz_peak[{name}]:   req/s {figures['req_per_s']} | {figures['bare_req_per_s']};"
        f" errors {figures['errors']} | {figures['bare_errors']};"
        f" answers lost {figures['answers_lost']} | {figures['bare_answers_lost']};"
        f" duplicate attempts {figures['duplicate_attempts']};"
        f" missing attempts {figures['missing_attempts']}; ungraded {figures['ungraded']};"
        f" meets target {figures['meets_target']}"
    )


def run() -> dict[str, object]:
    name = _create_database()
    url = _url(name)
    biggest = max(scenario.trainees for scenario in SCENARIOS)
    try:
        with tempfile.TemporaryDirectory() as folder_name:
            folder = Path(folder_name)
            start = time.perf_counter()
            app, session_id, question_ids, usernames = _prepare(folder, url, biggest)
            quizzes = [
                _add_quiz(app, session_id, question_ids, f"基准测试：党章党规知识测验（{s.name}）")
                for s in SCENARIOS
            ]
            setup_seconds = time.perf_counter() - start
            env = {
                "LMS_DATABASE_URL": url,
                "BENCH_DATABASE_URL": url,
                "LMS_REDIS_URL": REDIS_URL,
                "LMS_SECRET_KEY": "bench",
                "LMS_INSTANCE_PATH": str(folder),
            }
            logins: list[tuple[str, str]] = []

            def run_real(port: int, index: int, scenario: Scenario):
                if not logins:
                    logins.extend(_sign_in(port, quizzes[0], usernames))
                return _run_app(port, url, quizzes[index], scenario, logins)

            real = _serve_scenarios("bench._catalog_wsgi:app", folder, env, run_real)
            checks = [
                _check_app(url, quiz_id, outcome.tally, usernames[: scenario.trainees])
                for quiz_id, outcome, scenario in zip(quizzes, real, SCENARIOS, strict=True)
            ]
            bare = _serve_scenarios(
                "bench._quiz_bare_wsgi:app",
                folder,
                env,
                lambda port, index, scenario: _run_bare(port, scenario, real[index].tally.layouts),
            )
            bare_lost = [_check_bare(url, outcome.tally) for outcome in bare]

            profile_quiz = _add_quiz(app, session_id, question_ids, "基准测试：逐请求剖析")
            profile = _profile_requests(
                app, profile_quiz, _extra_trainees(app, PROFILE_TRAINEES + 1)
            )
            bare_profile = _profile_bare(url, PROFILE_TRAINEES)
            with app.app_context():
                from lms.extensions import db

                db.engine.dispose()
    finally:
        _drop_database(name)

    scenarios = {
        scenario.name: _scenario_figures(scenario, real[i], bare[i], checks[i], bare_lost[i])
        for i, scenario in enumerate(SCENARIOS)
    }
    main = scenarios[SCENARIOS[0].name]
    figures: dict[str, object] = {
        "questions": QUESTIONS,
        "gunicorn": " ".join(GUNICORN_ARGS),
        "scale": SCALE,
        "setup_seconds": round(setup_seconds, 1),
        # The first scenario's figures at the top, under the names earlier runs used.
        **main,
        "sql_per_autosave": profile["autosave"]["sql_statements"],
        "sql_ms_per_autosave": profile["autosave"]["sql_ms"],
        "inprocess_ms_per_autosave": profile["autosave"]["inprocess_ms"],
        "bare_inprocess_ms_per_autosave": bare_profile["autosave"]["inprocess_ms"],
        "target_p95_ms": TARGET_P95_MS,
        "target_bell_start_p95_ms": TARGET_BELL_START_P95_MS,
        "inprocess": profile,
        "bare_inprocess": bare_profile,
        "scenarios": scenarios,
    }
    for key, value in figures.items():
        if key not in ("scenarios", "inprocess"):
            print(f"quiz_peak.{key}: {value}")
    for scenario_name, scenario_figures in scenarios.items():
        _print_side_by_side(scenario_name, scenario_figures)
    print("quiz_peak: in-process per request (the WSGI app's own time, PostgreSQL), app | bare:")
    for kind, cost in profile.items():
        bare_cost = bare_profile[kind]
        print(
            f"quiz_peak:   {kind:<9} {cost['inprocess_ms']:>7} ms"
            f" ({cost['inprocess_cpu_ms']} ms CPU), {cost['sql_statements']} SQL"
            f" statements taking {cost['sql_ms']} ms (n={cost['requests']})"
            f" | {bare_cost['inprocess_ms']} ms ({bare_cost['inprocess_cpu_ms']} ms CPU)"
        )
    for outcome in real:
        for line in (outcome.tally.failures + outcome.log_errors)[:10]:
            print(f"quiz_peak: {line}")
    return figures


def _extra_trainees(app, count: int) -> list[str]:
    """Trainees outside the cohorts, enrolled like them, for the in-process profile."""
    from lms.auth.models import Role, User
    from lms.extensions import db
    from lms.org.models import Member
    from lms.sessions.models import Enrollment

    with app.app_context():
        first = db.session.scalar(db.select(User).where(User.username == "bench001"))
        enrollment = db.session.scalar(
            db.select(Enrollment).where(Enrollment.member_id == first.member_id)
        )
        model = first.member
        usernames = []
        for n in range(1, count + 1):
            member = Member(
                staff_no=f"PROFILE{n:03d}",
                name=f"剖析学员{n:03d}",
                gender=model.gender,
                department_id=model.department_id,
                branch_id=model.branch_id,
                category=model.category,
            )
            user = User(username=f"profile{n:03d}", display_name=member.name, member=member)
            user.password_hash = first.password_hash
            user.must_change_password = False
            user.set_roles({Role.TRAINEE})
            db.session.add_all(
                [member, user, Enrollment(session_id=enrollment.session_id, member=member)]
            )
            usernames.append(user.username)
        db.session.commit()
    return usernames


if __name__ == "__main__":
    run()
