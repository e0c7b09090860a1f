"""Backup and restore: the database (a SQLite copy, or pg_dump's custom format) plus the
uploads and certificates folders, in one .tar.gz with a manifest."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from lms.extensions import db

FOLDERS = {"uploads": "UPLOADS_DIR", "certificates": "CERTIFICATES_DIR"}


class BackupError(RuntimeError):
    pass


def _url() -> sa.URL:
    return sa.make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _libpq(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str]) -> None:
    # Fixed programs and arguments, no shell.
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[:500]}")


def backup(destination: Path) -> Path:
    """Write a backup archive into `destination` and return its path."""
    url = _url()
    destination.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    archive = destination / f"lms-backup-{stamp}.tar.gz"
    revision = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    db.session.rollback()
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        if url.get_backend_name() == "sqlite":
            dump = work_dir / "database.sqlite"
            assert url.database is not None  # a file: LMS databases are never in memory
            with sqlite3.connect(url.database) as source, sqlite3.connect(dump) as target:
                source.backup(target)  # a consistent copy even while the app writes
        else:
            dump = work_dir / "database.dump"
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", _libpq(url)])
        manifest = {
            "created": stamp,
            "database": url.get_backend_name(),
            "revision": revision,
            "folders": list(FOLDERS),
        }
        (work_dir / "manifest.json").write_text(json.dumps(manifest))
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(work_dir / "manifest.json", "manifest.json")
            tar.add(dump, dump.name)
            for name, key in FOLDERS.items():
                folder = Path(current_app.config[key])
                if folder.is_dir():
                    tar.add(folder, name)
    return archive


def restore(archive: Path) -> dict:
    """Replace the database and the folders with the archive's. Returns its manifest."""
    url = _url()
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(work_dir, filter="data")  # refuses paths outside work_dir
            manifest = json.loads((work_dir / "manifest.json").read_text())
        except (tarfile.TarError, OSError, ValueError) as exc:
            raise BackupError(f"not a backup archive: {exc}") from exc
        if manifest["database"] != url.get_backend_name():
            raise BackupError(
                f"the backup is of a {manifest['database']} database, "
                f"this one is {url.get_backend_name()}"
            )
        db.session.remove()
        db.engine.dispose()
        if url.get_backend_name() == "sqlite":
            # Through SQLite itself, so a write-ahead log next to the file cannot undo it.
            assert url.database is not None  # a file: LMS databases are never in memory
            with (
                sqlite3.connect(work_dir / "database.sqlite") as source,
                sqlite3.connect(url.database) as target,
            ):
                source.backup(target)
        else:
            _run(
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    f"--dbname={_libpq(url)}",
                    str(work_dir / "database.dump"),
                ]
            )
        for name, key in FOLDERS.items():
            folder = Path(current_app.config[key])
            saved = work_dir / name
            if folder.exists():
                shutil.rmtree(folder)
            if saved.is_dir():
                shutil.copytree(saved, folder)
    return manifest
