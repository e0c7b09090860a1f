"""Import a generated 3,000-row roster into a fresh SQLite database (target: under 5 s).

Also times the re-import of the same file (must change nothing) and an export of everyone."""

from __future__ import annotations

import io
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.rostergen import generate, write_csv

ROWS = 3000
REPEATS = 3


def _fresh_app(folder: Path):
    os.environ["LMS_INSTANCE_PATH"] = str(folder)
    from flask_migrate import upgrade

    from lms import create_app
    from lms.extensions import db
    from lms.org.demo import load_organisation
    from lms.paths import shipped

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}"})
    with app.app_context():
        upgrade()
        load_organisation(shipped("content") / "demo" / "organisation.yaml")
        db.session.commit()
    return app


def _one_run(csv_path: Path) -> dict[str, float]:
    from lms.extensions import db
    from lms.org.models import Member
    from lms.org.roster import import_roster, roster_workbook

    with tempfile.TemporaryDirectory() as folder:
        app = _fresh_app(Path(folder))
        with app.app_context():
            start = time.perf_counter()
            with csv_path.open("rb") as stream:
                result = import_roster(csv_path.name, stream)
            db.session.commit()
            first = time.perf_counter() - start
            assert result.ok and result.created == ROWS, result.errors[:3]

            start = time.perf_counter()
            with csv_path.open("rb") as stream:
                again = import_roster(csv_path.name, stream)
            db.session.commit()
            second = time.perf_counter() - start
            assert again.unchanged == ROWS

            start = time.perf_counter()
            members = db.session.scalars(db.select(Member).order_by(Member.staff_no)).all()
            data = roster_workbook(members)
            export = time.perf_counter() - start
            assert len(data) > 0

            xlsx_path = Path(folder) / "roster.xlsx"
            xlsx_path.write_bytes(data)
            db.session.query(Member).delete()
            db.session.commit()
            start = time.perf_counter()
            with xlsx_path.open("rb") as stream:
                result = import_roster("roster.xlsx", io.BytesIO(stream.read()))
            db.session.commit()
            xlsx = time.perf_counter() - start
            assert result.created == ROWS
            db.session.rollback()

            start = time.perf_counter()
            with csv_path.open("rb") as stream:
                result = import_roster(csv_path.name, stream, create_accounts=True)
            db.session.commit()
            accounts = time.perf_counter() - start
            assert len(result.credentials) == ROWS
            db.engine.dispose()
    return {
        "import_csv_s": first,
        "reimport_csv_s": second,
        "export_xlsx_s": export,
        "import_xlsx_s": xlsx,
        "reimport_csv_creating_accounts_s": accounts,
    }


def run() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "roster.csv"
        write_csv(csv_path, generate(ROWS, seed=7, first_staff_no=500001))
        runs = [_one_run(csv_path) for _ in range(REPEATS)]
    figures: dict[str, object] = {"rows": ROWS, "repeats": REPEATS, "target_import_s": 5.0}
    for key in runs[0]:
        figures[key + "_median"] = round(statistics.median(r[key] for r in runs), 3)
    for key, value in figures.items():
        print(f"roster_import.{key}: {value}")
    return figures
