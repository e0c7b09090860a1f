"""The `lms` command line for operators: database, content, users and imports."""

from __future__ import annotations

import getpass
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from lms.extensions import db
from lms.paths import shipped


@click.group("content", help="Load the shipped content.")
def content_group() -> None:
    pass


@content_group.command(
    "load", help="Load the demo organisation, members and accounts (idempotent)."
)
@click.option("--quiet", is_flag=True, help="Do not list the demo accounts.")
@with_appcontext
def content_load(quiet: bool) -> None:
    from lms.content import load_demo
    from lms.content_files import ContentError

    try:
        members_csv = shipped("content") / "demo" / "members.csv"
        with click.progressbar(length=_count_lines(members_csv), label="members") as bar:
            report = load_demo(progress=bar.update)
        db.session.commit()
    except ContentError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    for line in report.lines:
        click.echo(line)
    if not quiet:
        click.echo("\nDemo accounts (username / password / roles):")
        for username, password, roles in report.accounts:
            click.echo(f"  {username:<10} {password:<16} {roles}")


@click.group("user", help="Manage accounts.")
def user_group() -> None:
    pass


@user_group.command("create-admin", help="Create an administrator account.")
@click.argument("username")
@click.option(
    "--password", envvar="LMS_ADMIN_PASSWORD", help="Read from LMS_ADMIN_PASSWORD or asked."
)
@with_appcontext
def create_admin(username: str, password: str | None) -> None:
    from lms.admin.services import create_user
    from lms.auth.models import Role, User

    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise click.ClickException(f"user {username!r} already exists")
    if not password:
        password = getpass.getpass("Password: ")
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    create_user(username=username, password=password, roles={Role.ADMIN}, one_time=False)
    db.session.commit()
    click.echo(f"admin {username} created")


@click.group("members", help="Import and export the roster.")
def members_group() -> None:
    pass


@members_group.command("import", help="Import a roster (.xlsx or .csv), all or nothing.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--create-accounts", is_flag=True, help="Create trainee accounts with one-time passwords."
)
@click.option(
    "--passwords-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the one-time passwords (.xlsx); required with --create-accounts.",
)
@with_appcontext
def members_import(file: Path, create_accounts: bool, passwords_out: Path | None) -> None:
    from lms.org.roster import credentials_workbook, import_roster

    if create_accounts and passwords_out is None:
        raise click.UsageError("--passwords-out is required with --create-accounts")
    with (
        file.open("rb") as stream,
        click.progressbar(length=_count_lines(file), label="rows") as bar,
    ):
        result = import_roster(
            file.name, stream, create_accounts=create_accounts, progress=bar.update
        )
    if not result.ok:
        db.session.rollback()
        for error in result.errors:
            where = f"row {error.row}" if error.row else "file"
            click.echo(f"{where} {error.column}: {error.message}", err=True)
        raise click.ClickException(f"{len(result.errors)} error(s); nothing was imported")
    db.session.commit()
    click.echo(f"{result.created} new, {result.updated} updated, {result.unchanged} unchanged")
    if result.credentials and passwords_out:
        passwords_out.write_bytes(credentials_workbook(result.credentials))
        click.echo(f"{len(result.credentials)} accounts; one-time passwords in {passwords_out}")


def _count_lines(file: Path) -> int:
    if file.suffix.lower() == ".csv":
        with file.open("rb") as handle:
            return max(sum(1 for _ in handle) - 1, 0)
    return 0


@click.group("quizzes", help="Quizzes and question banks.")
def quizzes_group() -> None:
    pass


@quizzes_group.command(
    "sweep", help="Finish and grade every attempt past its deadline (run it every minute)."
)
@with_appcontext
def quizzes_sweep() -> None:
    from lms.extensions import db
    from lms.quizzes.attempts import finish_overdue_attempts

    finished = finish_overdue_attempts()
    db.session.commit()
    click.echo(f"{finished} overdue attempts finished and graded")


@quizzes_group.command("import", help="Import questions into a bank (.xlsx, GIFT or Aiken).")
@click.argument("bank")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "kind",
    type=click.Choice(["xlsx", "gift", "aiken"]),
    help="File format (default: from the extension; .txt means GIFT).",
)
@with_appcontext
def quizzes_import(bank: str, file: Path, kind: str | None) -> None:
    from lms.extensions import db
    from lms.quizzes.formats import parse_upload
    from lms.quizzes.services import bank_by_name, import_questions

    kind = kind or {".xlsx": "xlsx", ".aiken": "aiken"}.get(file.suffix.lower(), "gift")
    with file.open("rb") as stream:
        parsed = parse_upload(kind, stream)
    if parsed.errors:
        for error in parsed.errors:
            click.echo(error, err=True)
        raise SystemExit(1)
    summary = import_questions(bank_by_name(bank, create=True), parsed.questions, None)
    db.session.commit()
    click.echo(f"{summary.created} new, {summary.updated} updated, {summary.unchanged} unchanged")


@click.group("sessions", help="Training sessions.")
def sessions_group() -> None:
    pass


@sessions_group.command(
    "advance",
    help="Mark started sessions as in progress, announce quizzes opening today (run daily).",
)
@with_appcontext
def sessions_advance() -> None:
    from lms.extensions import db
    from lms.quizzes.services import notify_quizzes_opening
    from lms.sessions.services import advance_session_statuses

    started = advance_session_statuses()
    told = notify_quizzes_opening()
    db.session.commit()
    click.echo(f"{len(started)} sessions now in progress")
    click.echo(f"{told} trainees told a quiz opens today")


@click.group("reports", help="Report tables.")
def reports_group() -> None:
    pass


@reports_group.command(
    "rebuild",
    help="Recompute the attendance totals reports read (after a bulk load or a repair).",
)
@with_appcontext
def reports_rebuild() -> None:
    from lms.attendance.services import rebuild_all_totals
    from lms.extensions import db

    sessions, years = rebuild_all_totals()
    db.session.commit()
    click.echo(f"{sessions} member-session totals, {years} member-year totals rebuilt")


@click.group("certificates", help="Completion certificates.")
def certificates_group() -> None:
    pass


@certificates_group.command("issue", help="Issue the missing certificates of a session or cycle.")
@click.option("--session", "session_id", type=int, help="Training session id.")
@click.option("--cycle", "cycle_id", type=int, help="Rotation cycle id.")
@with_appcontext
def certificates_issue(session_id: int | None, cycle_id: int | None) -> None:
    from lms.certificates import issuing
    from lms.extensions import db
    from lms.rotation.models import RotationCycle
    from lms.sessions.models import TrainingSession

    if (session_id is None) == (cycle_id is None):
        raise click.UsageError("give exactly one of --session or --cycle")
    session = db.session.get(TrainingSession, session_id) if session_id else None
    cycle = db.session.get(RotationCycle, cycle_id) if cycle_id else None
    if session is None and cycle is None:
        raise click.UsageError("no such session or cycle")
    rows = issuing.to_issue(session, cycle)
    issued = 0
    with click.progressbar(length=len(rows), label="issuing") as bar:
        for start in range(0, len(rows), issuing.BATCH):
            batch = rows[start : start + issuing.BATCH]
            issued += len(issuing.issue_batch(batch, session=session, cycle=cycle))
            db.session.commit()
            bar.update(len(batch))
    click.echo(f"{issued} certificates issued")


@click.command("backup", help="Back up the database and the uploads and certificates folders.")
@click.argument("destination", type=click.Path(file_okay=False, path_type=Path), default="backups")
@with_appcontext
def backup_command(destination: Path) -> None:
    from lms.ops.backup import BackupError, backup

    try:
        archive = backup(destination)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup written to {archive}")


@click.command("restore", help="Restore a backup made by `lms backup` (replaces everything).")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(archive: Path, yes: bool) -> None:
    from lms.ops.backup import BackupError, restore

    if not yes:
        click.confirm("This replaces the database and the uploaded files. Continue?", abort=True)
    try:
        manifest = restore(archive)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored the backup of {manifest['created']} (revision {manifest['revision']})")


def register_commands(app: Flask) -> None:
    app.cli.add_command(content_group)
    app.cli.add_command(user_group)
    app.cli.add_command(members_group)
    app.cli.add_command(quizzes_group)
    app.cli.add_command(sessions_group)
    app.cli.add_command(certificates_group)
    app.cli.add_command(reports_group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


def _create_app():
    from lms import create_app  # imported late: `lms --help` should not build the app

    return create_app()


main = FlaskGroup(
    create_app=_create_app, add_default_commands=True, help="Party school LMS operator commands."
)


if __name__ == "__main__":
    main()
