"""Browser journeys: the real app on a live server (its own SQLite file with the demo loaded),
driven by pytest-playwright in Debian's Chromium. Skipped with a message when Chromium or
Playwright is missing, except under CI=true, where that is a failure."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def _available() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed (make test installs it)"
    if not Path(CHROMIUM).exists():
        return "Chromium is not installed (apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config, items):
    problem = _available()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"browser journeys cannot run under CI=true: {problem}")
    skip = pytest.mark.skip(reason=f"browser journeys skipped: {problem}")
    for item in items:
        if "browser" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def shots() -> Path:
    SHOTS.mkdir(exist_ok=True)  # the run's summary prints where they are
    return SHOTS


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    """A served app with the demo, a lesson running now in a session the trainee attends,
    and issued certificates for the finished demo session."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from lms import create_app
    from lms.content import load_demo
    from lms.extensions import db

    folder = tmp_path_factory.mktemp("live")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'live.db'}",
            "UPLOADS_DIR": str(folder / "uploads"),
            "CERTIFICATES_DIR": str(folder / "certificates"),
            "SECRET_KEY": "browser-journeys",
        }
    )
    with app.app_context():
        upgrade()
        load_demo()
        extra = _running_lesson(db)
        _certificates_of_the_finished_session(db)
        db.session.commit()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app.config["PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{port}", "app": app, **extra}
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


def _certificates_of_the_finished_session(db) -> None:
    from lms.certificates import issuing
    from lms.sessions.models import TrainingSession

    finished = db.session.scalar(
        db.select(TrainingSession).where(TrainingSession.title == "2026年第10期")
    )
    issuing.issue_batch(issuing.to_issue(finished), session=finished)


def _running_lesson(db) -> dict:
    import sqlalchemy as sa

    from lms.catalog.models import Course
    from lms.org.models import Member
    from lms.sessions.models import Enrollment, Lesson, SessionStatus, TrainingSession

    today = date.today()
    session = TrainingSession(
        title="今日专题班",
        start_date=today,
        end_date=today,
        venue="党校教室",
        capacity=60,
        status=SessionStatus.IN_PROGRESS,
    )
    db.session.add(session)
    now = datetime.now(UTC)
    lecturer_id = db.session.scalar(sa.text("SELECT id FROM users WHERE username = 'lecturer2'"))
    lesson = Lesson(
        session=session,
        course=db.session.scalars(sa.select(Course).order_by(Course.code)).first(),
        lecturer_id=lecturer_id,
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=2),
        room="第一教室",
    )
    db.session.add(lesson)
    trainee = db.session.scalar(sa.select(Member).where(Member.staff_no == "100101"))
    db.session.add(Enrollment(session=session, member_id=trainee.id))
    db.session.flush()
    return {"lesson_id": lesson.id, "session_id": session.id}
