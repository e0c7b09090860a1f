"""Rotation dashboard on PostgreSQL with 20,000 members and 1,000,000 attendance rows (#6).

A fresh database is created, migrated and filled by bench.datagen (the 2026 cycle, 24 sessions,
enrollments, attendance); an organizer and a branch secretary (a member of one branch, with the
secretary and trainee roles) are added. The app is served by gunicorn (2 sync workers) and each
page is requested one at a time, signed in, after a warm-up: the dashboard as the organizer and
as the secretary, the "untrained" drill-down and the cycle page. Every response must be a 200
holding the cycle's name. Reports p50 / p95 per page (target: dashboard p50 ≤ 150 ms) and the
SQL statements one dashboard runs, counted in-process on the same database (with the three
slowest of them). The database is dropped at the end, also on failure."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
import sqlalchemy as sa

from bench import datagen
from bench._serving import Client, Gunicorn

SERVER = "postgresql://postgres@127.0.0.1:5432"
MEMBERS = 20_000
ATTENDANCE = 1_000_000
WARMUP_REQUESTS = 3
REQUESTS = 25
TARGET_P50_MS = 150.0
GUNICORN_ARGS = ["-w", "2", "--threads", "1", "--worker-class", "sync"]
ORGANIZER = ("bench-organizer", "Organizer@2026")
SECRETARY = ("bench-secretary", "Secretary@2026")


def _admin(sql: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _prepare(app) -> tuple[int, str, float]:
    """Migrate, generate, add the two users; return the cycle id and name."""
    from flask_migrate import upgrade

    from lms.admin.services import create_user
    from lms.auth.models import Role
    from lms.extensions import db
    from lms.org.models import Member, branch_secretaries

    with app.app_context():
        upgrade()
        start = time.perf_counter()
        written = datagen.generate(MEMBERS, ATTENDANCE)
        db.session.commit()
        datagen.vacuum_analyze(db.engine)
        generated = time.perf_counter() - start
        secretary = db.session.scalar(
            sa.select(Member).where(Member.category == "member").order_by(Member.id)
        )
        db.session.execute(
            sa.insert(branch_secretaries).values(
                branch_id=secretary.branch_id, member_id=secretary.id
            )
        )
        create_user(
            username=ORGANIZER[0], password=ORGANIZER[1], roles={Role.ORGANIZER}, one_time=False
        )
        create_user(
            username=SECRETARY[0],
            password=SECRETARY[1],
            roles={Role.SECRETARY, Role.TRAINEE},
            member_id=secretary.id,
            one_time=False,
        )
        db.session.commit()
        db.engine.dispose()
    print(f"dashboard: generated {written} in {generated:.1f} s")
    return written["cycle_id"], datagen.CYCLE_NAME, round(generated, 1)


def _queries(app, cycle_id: int) -> tuple[int, float, list[tuple[float, str]]]:
    """Statements one dashboard(cycle, None) runs, their total ms, and the slowest three."""
    from lms.extensions import db
    from lms.reports.services import dashboard
    from lms.rotation.models import RotationCycle

    timings: list[tuple[float, str]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):
        started = conn.info["bench_started"].pop()
        timings.append(((time.perf_counter() - started) * 1000, statement))

    with app.app_context(), app.test_request_context():
        cycle = db.session.get(RotationCycle, cycle_id)
        dashboard(cycle, None)  # warm the connection and the caches
        db.session.expire_all()
        cycle = db.session.get(RotationCycle, cycle_id)
        sa.event.listen(db.engine, "before_cursor_execute", before)
        sa.event.listen(db.engine, "after_cursor_execute", after)
        try:
            board = dashboard(cycle, None)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", before)
            sa.event.remove(db.engine, "after_cursor_execute", after)
        assert board.total > 0
        db.session.rollback()
        db.engine.dispose()
    slowest = sorted(timings, reverse=True)[:3]
    return len(timings), sum(ms for ms, _ in timings), slowest


def _time_page(client: Client, path: str, expect: bytes) -> list[float]:
    for _ in range(WARMUP_REQUESTS):
        status, _, body = client.request("GET", path)
        assert status == 200 and expect in body, (path, status)
    latencies = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        status, _, body = client.request("GET", path)
        latencies.append(time.perf_counter() - start)
        assert status == 200 and expect in body, (path, status)
    return latencies


def _summary(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return {"p50_ms": round(cuts[49] * 1000, 1), "p95_ms": round(cuts[94] * 1000, 1)}


def run() -> dict[str, object]:
    name = f"lms_bench_dashboard_{os.getpid()}"
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    _admin(f"DROP DATABASE IF EXISTS {name}")
    _admin(f"CREATE DATABASE {name}")
    saved = {key: os.environ.get(key) for key in ("LMS_DATABASE_URL", "LMS_INSTANCE_PATH")}
    server = None
    failed = False
    try:
        with tempfile.TemporaryDirectory() as folder_name:
            folder = Path(folder_name)
            os.environ["LMS_DATABASE_URL"] = url
            os.environ["LMS_INSTANCE_PATH"] = str(folder)
            from lms import create_app

            app = create_app({"SQLALCHEMY_DATABASE_URI": url})
            cycle_id, cycle_name, generated = _prepare(app)
            query_count, sql_ms, slowest = _queries(app, cycle_id)

            server = Gunicorn(
                "bench._catalog_wsgi:app",
                folder,
                GUNICORN_ARGS,
                {
                    "BENCH_DATABASE_URL": url,
                    "LMS_DATABASE_URL": url,
                    "LMS_SECRET_KEY": "bench",
                    "LMS_INSTANCE_PATH": str(folder),
                },
            )
            organizer = Client(server.port)
            organizer.login(*ORGANIZER)
            secretary = Client(server.port)
            secretary.login(*SECRETARY)
            expect = cycle_name.encode()
            pages = {
                "dashboard": (organizer, f"/reports/cycles/{cycle_id}"),
                "dashboard_secretary": (secretary, f"/reports/cycles/{cycle_id}"),
                "drilldown_untrained": (
                    organizer,
                    f"/reports/cycles/{cycle_id}/members?state=untrained",
                ),
                "cycle_page": (organizer, f"/rotation/cycles/{cycle_id}"),
            }
            results = {
                page: _summary(_time_page(client, path, expect))
                for page, (client, path) in pages.items()
            }
    except BaseException:
        failed = True
        raise
    finally:
        if server is not None:
            server.stop(failed=failed)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    figures: dict[str, object] = {
        "members": MEMBERS,
        "attendance_rows": ATTENDANCE,
        "generate_s": generated,
        "requests_each": REQUESTS,
        "gunicorn": " ".join(GUNICORN_ARGS),
    }
    for page, summary in results.items():
        for key, value in summary.items():
            figures[f"{page}_{key}"] = value
    figures["dashboard_queries"] = query_count
    figures["dashboard_sql_ms_in_process"] = round(sql_ms, 1)
    for n, (ms, statement) in enumerate(slowest, 1):
        figures[f"dashboard_slowest_{n}_ms"] = round(ms, 1)
        figures[f"dashboard_slowest_{n}_sql"] = " ".join(statement.split())[:160]
    figures["target_p50_ms"] = TARGET_P50_MS
    figures["meets_target"] = results["dashboard"]["p50_ms"] <= TARGET_P50_MS
    for key, value in figures.items():
        print(f"dashboard.{key}: {value}")
    return figures


if __name__ == "__main__":
    run()
