"""Fill a migrated PostgreSQL database with a plant-sized data set for the dashboard benchmark.

    .venv/bin/python -m bench.datagen \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/<db> \\
        --members 20000 --attendance 1000000 [--migrate] [--seed 7]

What it writes (bulk: SQLAlchemy Core inserts for the small tables, COPY for the big ones):
the demo organisation (4 departments, 12 branches, 6 shifts) and the shipped catalog; `--members`
active members (mostly 党员, some of every category, ~10 % on no shift); 24 two-day training
sessions over 2026 (two a month, 900 seats, completed when over, open / planned when ahead) with
8 lessons each; enrollments (~80 % of members in one session of the rotation cycle, completed
when the session is over, invited otherwise; ~10 % in a second session outside the cycle); the
cycle "2026年度全员轮训" (1 session and 8 hours required, for 党员 / 预备党员 / 干部 / 党务工作者);
and `--attendance` attendance rows spread evenly over the members, each member in distinct lessons
of the sessions already held (mostly present, some late or absent). Realism is secondary: volume
and index use are what matter. Ends with VACUUM ANALYZE so the planner has statistics and the
visibility map is set, as autovacuum would do on a live server. `--migrate` runs the migrations
first. The database must hold no members yet.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bench.rostergen import GIVEN, SURNAMES

CYCLE_NAME = "2026年度全员轮训"
YEAR = 2026
SESSIONS = 24  # two a month
LESSONS_PER_SESSION = 8  # four a day
CAPACITY = 900
LESSON_CLOCKS = ((8, 30), (10, 30), (14, 0), (16, 0))
ZONE = ZoneInfo("Asia/Shanghai")
CATEGORIES = (
    ("cadre", 6),
    ("party_worker", 4),
    ("member", 70),
    ("probationary", 6),
    ("activist", 6),
    ("league_member", 5),
    ("youth", 3),
)
CYCLE_CATEGORIES = ("member", "probationary", "cadre", "party_worker")
ENROLLED_SHARE = 0.8
SECOND_SESSION_SHARE = 0.1
NO_SHIFT_SHARE = 0.1
ATTENDANCE_STATUSES = (("present", 90), ("late", 5), ("absent", 5))


def _copy(connection, table: str, columns: tuple[str, ...], lines: list[str]) -> None:
    """COPY tab-separated lines (\\N for NULL) into `table` over the session's connection."""
    raw = connection.connection.driver_connection
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        buffer = io.StringIO()
        for n, line in enumerate(lines, 1):
            buffer.write(line)
            if n % 100_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def generate(members: int, attendance: int, seed: int = 7) -> dict[str, object]:
    """Write the data set in the current app context's database; return what was written."""
    from lms.catalog.demo import load_catalog
    from lms.catalog.models import Course
    from lms.extensions import db
    from lms.org.demo import load_organisation
    from lms.org.models import Branch, Member, Shift
    from lms.paths import shipped
    from lms.rotation.models import CycleCategory, RotationCycle
    from lms.sessions.models import Lesson, TrainingSession

    rnd = random.Random(seed)
    now = datetime.now(UTC)
    stamp = _stamp(now)
    today = now.astimezone(ZONE).date()
    assert db.session.scalar(sa.select(sa.func.count(Member.id))) == 0, "members already exist"

    load_organisation(shipped("content") / "demo" / "organisation.yaml")
    load_catalog(shipped("content") / "catalog")
    db.session.flush()
    branches = [(b.id, b.department_id) for b in db.session.scalars(sa.select(Branch))]
    shifts = list(db.session.scalars(sa.select(Shift.id)))
    courses = list(db.session.scalars(sa.select(Course.id).order_by(Course.code)))
    connection = db.session.connection()

    # Members.
    categories, weights = zip(*CATEGORIES, strict=True)
    lines = []
    for i in range(members):
        branch_id, department_id = rnd.choice(branches)
        shift = "\\N" if rnd.random() < NO_SHIFT_SHARE else str(rnd.choice(shifts))
        name = rnd.choice(SURNAMES) + "".join(rnd.choices(GIVEN, k=rnd.randint(1, 2)))
        lines.append(
            f"{300000 + i}\t{name}\t{rnd.choice(('male', 'female'))}\t{department_id}\t"
            f"{branch_id}\t{shift}\t{rnd.choices(categories, weights)[0]}\tt\t{stamp}\t{stamp}\n"
        )
    _copy(
        connection,
        "members",
        (
            "staff_no",
            "name",
            "gender",
            "department_id",
            "branch_id",
            "shift_id",
            "category",
            "active",
            "created_at",
            "updated_at",
        ),
        lines,
    )
    member_ids = list(db.session.scalars(sa.select(Member.id).order_by(Member.id)))

    # Sessions and their lessons.
    session_rows = []
    for n in range(SESSIONS):
        start = date(YEAR, n // 2 + 1, 8 if n % 2 == 0 else 22)
        end = start + timedelta(days=1)
        if end < today:
            status = "completed"
        elif start - today <= timedelta(days=20):
            status = "open"
        else:
            status = "planned"
        session_rows.append(
            {
                "title": f"{YEAR}年第{n + 1}期全员轮训班",
                "start_date": start,
                "end_date": end,
                "venue": "厂部三楼党校教室",
                "capacity": CAPACITY,
                "status": status,
                "cancel_reason": "",
                "created_at": now,
                "updated_at": now,
            }
        )
    sessions = db.session.execute(
        sa.insert(TrainingSession.__table__).returning(
            TrainingSession.id, TrainingSession.start_date, TrainingSession.status
        ),
        session_rows,
    ).all()
    lesson_rows = []
    for k, (session_id, start, _status) in enumerate(sessions):
        for slot in range(LESSONS_PER_SESSION):
            day = start + timedelta(days=slot // len(LESSON_CLOCKS))
            hour, minute = LESSON_CLOCKS[slot % len(LESSON_CLOCKS)]
            starts = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)
            lesson_rows.append(
                {
                    "session_id": session_id,
                    "course_id": courses[(k * LESSONS_PER_SESSION + slot) % len(courses)],
                    "starts_at": starts.astimezone(UTC),
                    "ends_at": (starts + timedelta(hours=2)).astimezone(UTC),
                    "room": "",
                    "created_at": now,
                    "updated_at": now,
                }
            )
    lessons = db.session.execute(
        sa.insert(Lesson.__table__).returning(Lesson.id, Lesson.session_id, Lesson.starts_at),
        lesson_rows,
    ).all()

    # The rotation cycle.
    cycle_id = db.session.execute(
        sa.insert(RotationCycle.__table__).returning(RotationCycle.id),
        [
            {
                "name": CYCLE_NAME,
                "start_date": date(YEAR, 1, 1),
                "end_date": date(YEAR, 12, 31),
                "required_sessions": 1,
                "required_hours": 8,
                "cap_share": 0.30,
                "plan_notes": {},
                "created_at": now,
            }
        ],
    ).scalar_one()
    db.session.execute(
        sa.insert(CycleCategory.__table__),
        [{"cycle_id": cycle_id, "category": c} for c in CYCLE_CATEGORIES],
    )

    # Enrollments: at most one in the cycle per member, sometimes a second one outside it.
    held = {sid: str(status) == "completed" for sid, _start, status in sessions}
    session_ids = list(held)
    lines = []
    for member_id in member_ids:
        if rnd.random() >= ENROLLED_SHARE:
            continue
        picks = rnd.sample(session_ids, 2 if rnd.random() < SECOND_SESSION_SHARE else 1)
        for n, session_id in enumerate(picks):
            status = "completed" if held[session_id] else "invited"
            cycle = str(cycle_id) if n == 0 else "\\N"
            lines.append(f"{session_id}\t{member_id}\t{status}\t{cycle}\t\t{stamp}\n")
    enrollments = len(lines)
    _copy(
        connection,
        "enrollments",
        ("session_id", "member_id", "status", "cycle_id", "leave_reason", "created_at"),
        lines,
    )

    # Attendance: distinct lessons already held, the same number for every member (± 1).
    past = [
        (lesson_id, _stamp(starts + timedelta(minutes=3)))
        for lesson_id, session_id, starts in lessons
        if held[session_id]
    ]
    per_member, extra = divmod(attendance, len(member_ids))
    assert per_member + (extra > 0) <= len(past), "not enough lessons held for that attendance"
    statuses, status_weights = zip(*ATTENDANCE_STATUSES, strict=True)
    status_pool = rnd.choices(statuses, status_weights, k=4096)
    lines = []
    for n, member_id in enumerate(member_ids):
        for lesson_id, recorded in rnd.sample(past, per_member + (n < extra)):
            lines.append(
                f"{member_id}\t{lesson_id}\t{status_pool[rnd.getrandbits(12)]}\tmanual\t"
                f"{recorded}\n"
            )
    _copy(
        connection,
        "attendance",
        ("member_id", "lesson_id", "status", "method", "recorded_at"),
        lines,
    )
    # Attendance written directly: bring the reports' per-session totals up to date, as the
    # app does after each of its own writes.
    from lms.attendance.services import rebuild_all_totals

    rebuild_all_totals()
    return {
        "members": len(member_ids),
        "sessions": len(sessions),
        "lessons": len(lessons),
        "enrollments": enrollments,
        "attendance": len(lines),
        "cycle_id": cycle_id,
    }


def vacuum_analyze(engine: sa.Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--attendance", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--migrate", action="store_true", help="run the migrations first")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        os.environ.setdefault("LMS_INSTANCE_PATH", folder)
        os.environ.setdefault("LMS_SECRET_KEY", "datagen")
        from lms import create_app
        from lms.extensions import db

        app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url})
        with app.app_context():
            if args.migrate:
                from flask_migrate import upgrade

                upgrade()
            start = time.perf_counter()
            written = generate(args.members, args.attendance, args.seed)
            db.session.commit()
            vacuum_analyze(db.engine)
            elapsed = time.perf_counter() - start
            db.engine.dispose()
    for key, value in written.items():
        print(f"{key}: {value}")
    print(f"generated in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
