"""Catalog page throughput, 200 courses and 60 sessions, beside a bare Flask route (target ≥ 0.4×).

The real app and a bare Flask app rendering a page of the same byte size are served the same way
(gunicorn, 2 sync workers) in one run and driven by the same client (4 threads, one request at a
time each), alternating rounds; the figure is catalog requests/second over bare requests/second.
The catalog page is requested signed in as the demo trainee and every response is checked."""

from __future__ import annotations

import http.client
import statistics
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bench._serving import Client, Gunicorn, database_url, demo_app

COURSES = 200
SESSIONS = 60
LESSONS_PER_SESSION = 2
CLIENT_THREADS = 4
ROUNDS = 2
ROUND_SECONDS = 5.0
WARMUP_REQUESTS = 40
TARGET_RATIO = 0.4
GUNICORN_ARGS = ["-w", "2", "--threads", "1", "--worker-class", "sync"]
CATALOG_PATH = "/courses/"


def _fill(app) -> str:
    """Add courses and sessions up to the benchmark's size; return a title shown on page one."""
    from lms.catalog.models import Course, CourseFormat, CourseStatus, Theme
    from lms.extensions import db
    from lms.sessions.models import Lesson, TrainingSession

    with app.app_context():
        theme = db.session.scalars(db.select(Theme).order_by(Theme.id)).first()
        existing = db.session.scalar(db.select(db.func.count(Course.id)))
        courses = list(db.session.scalars(db.select(Course)))
        for n in range(existing + 1, COURSES + 1):
            course = Course(
                code=f"BX-{n:03d}",
                title=f"基准课程第{n}讲",
                theme=theme,
                format=CourseFormat.PARTY_LECTURE,
                hours=Decimal("2"),
                description="用于性能测试的课程。",
                status=CourseStatus.PUBLISHED,
            )
            db.session.add(course)
            courses.append(course)
        existing = db.session.scalar(db.select(db.func.count(TrainingSession.id)))
        for i in range(SESSIONS - existing):
            start = date(2027 + i // 12, i % 12 + 1, 10)
            session = TrainingSession(
                title=f"{start.year}年第{start.month}期",
                start_date=start,
                end_date=start + timedelta(days=1),
                venue="厂部三楼党校教室",
                capacity=60,
            )
            db.session.add(session)
            for k in range(LESSONS_PER_SESSION):
                starts = datetime(start.year, start.month, start.day, 1 + 4 * k, tzinfo=UTC)
                db.session.add(
                    Lesson(
                        session=session,
                        course=courses[(i * LESSONS_PER_SESSION + k) % len(courses)],
                        lecturer_id=None,
                        starts_at=starts,
                        ends_at=starts + timedelta(hours=2),
                        room="",
                    )
                )
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count(Course.id))) == COURSES
        assert db.session.scalar(db.select(db.func.count(TrainingSession.id))) == SESSIONS
        first = db.session.scalars(
            db.select(Course).where(Course.status == CourseStatus.PUBLISHED).order_by(Course.code)
        ).first()
        title = first.title
        db.engine.dispose()
    return title


def _drive(port: int, path: str, cookie: str, expect: bytes, seconds: float) -> list[float]:
    """Request `path` from CLIENT_THREADS threads for `seconds`; return every latency (s)."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        mine: list[float] = []
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Cookie": cookie} if cookie else {}
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            mine.append(time.perf_counter() - start)
            if response.status != 200 or expect not in body:
                failures.append(f"{response.status} {len(body)} bytes")
                break
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[:3]
    return latencies


def _summary(latencies: list[float], seconds: float) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "req_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(cuts[49] * 1000, 2),
        "p95_ms": round(cuts[94] * 1000, 2),
    }


def run() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        app = demo_app(folder)
        title = _fill(app).encode()
        real = Gunicorn(
            "bench._catalog_wsgi:app",
            folder,
            GUNICORN_ARGS,
            {"LMS_INSTANCE_PATH": str(folder), "BENCH_DATABASE_URL": database_url(folder)},
        )
        bare = None
        failed = False
        try:
            client = Client(real.port)
            client.login("trainee", "Trainee@2026")
            status, _, page = client.request("GET", CATALOG_PATH)
            assert status == 200 and title in page, status
            cookie = client.cookie_header()
            page_file = folder / "bare-page.html"
            page_file.write_bytes(page)
            bare = Gunicorn(
                "bench._bare_wsgi:app", folder, GUNICORN_ARGS, {"BENCH_BARE_PAGE": str(page_file)}
            )
            status, _, bare_page = Client(bare.port).request("GET", "/")
            assert status == 200 and bare_page == page, (status, len(bare_page), len(page))

            targets = {
                "catalog": (real.port, CATALOG_PATH, cookie),
                "bare": (bare.port, "/", ""),
            }
            for port, path, cookie_ in targets.values():
                _drive_count(port, path, cookie_, title)
            latencies: dict[str, list[float]] = {key: [] for key in targets}
            elapsed = dict.fromkeys(targets, 0.0)
            for _ in range(ROUNDS):
                for key, (port, path, cookie_) in targets.items():
                    start = time.perf_counter()
                    latencies[key] += _drive(port, path, cookie_, title, ROUND_SECONDS)
                    elapsed[key] += time.perf_counter() - start
        except BaseException:
            failed = True
            raise
        finally:
            real.stop(failed=failed)
            if bare is not None:
                bare.stop(failed=failed)

    catalog = _summary(latencies["catalog"], elapsed["catalog"])
    baseline = _summary(latencies["bare"], elapsed["bare"])
    ratio = round(catalog["req_per_s"] / baseline["req_per_s"], 3)
    figures: dict[str, object] = {
        "courses": COURSES,
        "sessions": SESSIONS,
        "page_bytes": len(page),
        "client_threads": CLIENT_THREADS,
        "gunicorn": " ".join(GUNICORN_ARGS),
        "seconds_each": ROUNDS * ROUND_SECONDS,
        **{f"catalog_{key}": value for key, value in catalog.items()},
        **{f"bare_{key}": value for key, value in baseline.items()},
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
    }
    for key, value in figures.items():
        print(f"catalog_throughput.{key}: {value}")
    return figures


def _drive_count(port: int, path: str, cookie: str, expect: bytes) -> None:
    """Warm up: a fixed number of requests, one at a time."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    for _ in range(WARMUP_REQUESTS):
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200 and expect in body, response.status
    conn.close()
