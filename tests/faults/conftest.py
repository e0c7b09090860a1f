"""The fault suite's site: the app in production mode under gunicorn (2 gthread workers), on its
own PostgreSQL database with the demo content, 20 trainees and a quiz, and Redis for rate limits
and jobs. PostgreSQL and Redis are reached through proxies the tests can take down and bring back.

Needs PostgreSQL at 127.0.0.1:5432; skipped with a message without it, except under CI=true,
where that is a failure."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
import pytest
from redis import Redis
from redis.exceptions import RedisError

from bench._serving import Client, Gunicorn
from tests.faults.proxy import Proxy

ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
TRAINEES = 20
QUESTIONS = 10
PASSWORD = "Fault@2026"
ORGANIZER = ("organizer", "Organizer@2026")
FAILED_SIGN_INS = 3  # allowed per account and minute
REDIS_URL = "redis://127.0.0.1:6379/13"
GUNICORN_ARGS = ["-c", "python:lms.gunicorn_conf", "-w", "2", "--timeout", "30"]


def _services_problem() -> str | None:
    try:
        psycopg.connect(ADMIN_DSN, connect_timeout=3).close()
    except psycopg.Error as error:
        return f"PostgreSQL at 127.0.0.1:5432 is unreachable ({error})"
    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except (RedisError, OSError) as error:
        return f"Redis at 127.0.0.1:6379 is unreachable ({error})"
    return None


def pytest_collection_modifyitems(config, items):
    ours = [item for item in items if f"{os.sep}faults{os.sep}" in str(item.fspath)]
    if not ours or (problem := _services_problem()) is None:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"the fault suite cannot run under CI=true: {problem}")
    for item in ours:
        item.add_marker(pytest.mark.skip(reason=f"fault suite skipped: {problem}"))


@dataclass
class Site:
    database: str
    folder: Path
    env: dict[str, str]
    server: Gunicorn
    postgres: Proxy
    redis: Proxy
    quiz_id: int
    trainees: list[str]
    finished_session_id: int  # the demo's finished session
    graduated_session_id: int  # the 20 trainees attended all of it
    lesson_id: int

    def sql(self, query: str, *params) -> list[tuple]:
        """Read the database directly, not through the proxy."""
        with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={self.database}") as c:
            return c.execute(query, params).fetchall()

    def client(self, username: str, password: str, timeout: float = 30) -> Client:
        client = Client(self.server.port, timeout=timeout)
        client.login(username, password)
        return client

    def uploads(self) -> set[Path]:
        root = self.folder / "uploads"
        return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _prepare(url: str, trainees: int = TRAINEES) -> dict:
    """Migrate, load the demo, add the trainees (enrolled) and a published quiz."""
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from lms import create_app
    from lms.auth.models import Role, User
    from lms.content import load_demo
    from lms.extensions import db
    from lms.quizzes.models import QuestionType
    from lms.sessions.models import Enrollment, EnrollmentStatus, Lesson, TrainingSession
    from tests.factories import make_bank, make_member, make_question, make_quiz, make_session

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        load_demo()
        session = make_session(title="故障演练专题班")
        password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        usernames, members = [], []
        for n in range(1, trainees + 1):
            member = make_member(name=f"演练学员{n:02d}")
            user = User(username=f"fault{n:02d}", display_name=member.name, member=member)
            user.password_hash = password_hash
            user.must_change_password = False
            user.set_roles({Role.TRAINEE})
            db.session.add_all(
                [
                    user,
                    Enrollment(session=session, member=member, status=EnrollmentStatus.CONFIRMED),
                ]
            )
            usernames.append(user.username)
            members.append(member)
        graduated = _graduated_session(members)
        bank = make_bank("故障演练题库")
        questions = [make_question(bank, type=QuestionType.FILL_BLANK) for _ in range(QUESTIONS)]
        quiz = make_quiz(questions, session=session, title="故障演练测验", max_attempts=1)
        finished = db.session.scalar(
            db.select(TrainingSession).where(TrainingSession.title == "2026年第10期")
        )
        lesson = db.session.scalar(
            db.select(Lesson.id)
            .join(User, Lesson.lecturer_id == User.id)
            .where(User.username == "lecturer2")
            .order_by(Lesson.id)
        )
        db.session.commit()
        prepared = {
            "quiz_id": quiz.id,
            "trainees": usernames,
            "finished_session_id": finished.id,
            "graduated_session_id": graduated.id,
            "lesson_id": lesson,
        }
        db.session.remove()
        db.engine.dispose()
    return prepared


def _graduated_session(members):
    """A finished session every one of `members` attended: 20 certificates to issue."""
    from lms.attendance.models import Attendance, AttendanceMethod, AttendanceStatus
    from lms.attendance.services import refresh_totals
    from lms.extensions import db
    from lms.sessions.models import Enrollment, EnrollmentStatus, SessionStatus
    from tests.factories import make_lesson, make_session

    session = make_session(
        title="故障演练结业班", start=date(2026, 10, 12), status=SessionStatus.COMPLETED
    )
    lesson = make_lesson(session=session)
    for member in members:
        db.session.add_all(
            [
                Enrollment(session=session, member=member, status=EnrollmentStatus.COMPLETED),
                Attendance(
                    member_id=member.id,
                    lesson_id=lesson.id,
                    status=AttendanceStatus.PRESENT,
                    method=AttendanceMethod.MANUAL,
                ),
            ]
        )
    db.session.flush()
    refresh_totals({member.id for member in members}, {session.id})
    return session


@contextmanager
def database() -> Iterator[str]:
    """A new, empty PostgreSQL database of its own, dropped afterwards."""
    name = f"lms_fault_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("faults")
    with ExitStack() as stack:
        name = stack.enter_context(database())
        postgres = stack.enter_context(closing(Proxy(5432)))
        redis = stack.enter_context(closing(Proxy(6379)))
        prepared = _prepare(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
        redis_db = REDIS_URL.rsplit("/", 1)[1]
        env = {
            "LMS_ENV": "production",
            "LMS_SECRET_KEY": secrets.token_urlsafe(48),
            "LMS_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/{name}",
            "LMS_REDIS_URL": f"redis://127.0.0.1:{redis.port}/{redis_db}",
            "LMS_RQ_QUEUE": name,  # its own queue: nothing of another run's is picked up
            "LMS_INSTANCE_PATH": str(folder),
            "LMS_LOGIN_LIMIT_PER_IP": "10000 per minute",
            "LMS_LOGIN_LIMIT_PER_ACCOUNT": f"{FAILED_SIGN_INS} per minute",
        }
        server = Gunicorn("lms:create_app()", folder, GUNICORN_ARGS, env)
        stack.callback(server.stop)
        yield Site(name, folder, env, server, postgres, redis, **prepared)
