"""One transaction per request, owned by the framework: a view that returns an answer is
committed once; a view that raises, or answers with an error status (4xx, 5xx), is rolled back
unless it said `keep_changes()`; work queued with `after_commit` runs only once the request's
changes are stored. Views and services never commit or roll back themselves; the one exception
is `one_row_alone`, a single statement that is a request's whole write, which PostgreSQL stores
by itself (and `rows_alone`, its like for a request's whole read)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from flask import Flask, g, has_request_context
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import SessionTransaction

from lms.extensions import db

log = logging.getLogger(__name__)


class TransactionalFlask(Flask):
    """Flask whose view dispatch is wrapped in the request's one transaction."""

    def dispatch_request(self):
        try:
            response = self.make_response(super().dispatch_request())
        except BaseException:
            _end(keep=g.pop("_lms_keep_changes", False))
            raise
        _end(keep=response.status_code < 400 or g.pop("_lms_keep_changes", False))
        return response


def _end(keep: bool) -> None:
    if not keep:
        db.session.rollback()
        g.pop("_lms_after_commit", None)  # nothing was stored: nothing to follow up
        return
    session = db.session()
    if session.in_transaction():  # not when the request never used it (an autosave)
        session.commit()
    for callback in g.pop("_lms_after_commit", []):
        callback()


def after_commit(callback: Callable[[], object]) -> None:
    """Run `callback` once the request's transaction is committed (never, if it is rolled back).
    Outside a request (the CLI, a job) there is no request transaction: it runs at once."""
    if has_request_context():
        g.setdefault("_lms_after_commit", []).append(callback)
    else:
        callback()


def keep_changes() -> None:
    """The view refuses (answers or raises a 4xx) but what it changed on the way must stay, e.g.
    an attempt found past its deadline is finished and graded before the refusal."""
    g._lms_keep_changes = True


@contextmanager
def atomic() -> Iterator[SessionTransaction]:
    """A savepoint: if the block raises, its changes alone are undone and the error goes on, so a
    view that catches the error and answers normally commits nothing half-written. The block may
    also undo its changes itself, e.g. an import that found bad rows: `savepoint.rollback()`."""
    with db.session.begin_nested() as savepoint:
        yield savepoint


@contextmanager
def _alone() -> Iterator[sa.Connection]:
    """The connection for a statement that is all a request sends (`one_row_alone`,
    `rows_alone`): on PostgreSQL, while the request's session has not begun a transaction, one
    of its own in autocommit; elsewhere the session's, in the request's transaction."""
    bind = db.engine
    if (
        isinstance(bind, sa.Engine)
        and bind.dialect.name == "postgresql"
        and not db.session().in_transaction()
    ):
        with bind.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection
    else:
        yield db.session.connection()


def one_row_alone(statement: sa.Executable, params: dict[str, object]) -> sa.Row | None:
    """Run one statement that is all a request writes, and return its one row (None if none).

    On PostgreSQL, while the request's session has not begun a transaction, the statement runs
    on a connection of its own in autocommit and is stored at once: one round trip to the
    database instead of three (BEGIN, the statement, COMMIT), which the busiest request of an
    exam, the autosave, is worth. One statement is atomic by itself, so nothing half-written can
    stay; a view that uses this writes nothing else. Elsewhere (SQLite, where there is no round
    trip to save; a session already at work; the tests' outer transaction) it runs in the
    request's transaction as usual."""
    with _alone() as connection:
        return connection.execute(statement, params).one_or_none()


def rows_alone(statement: sa.Executable, params: dict[str, object]) -> Sequence[sa.Row]:
    """Run one query that is all a request reads, in the same way as `one_row_alone`: on
    PostgreSQL in autocommit, one round trip instead of three. One statement sees one snapshot
    of the database, as it would in a transaction of its own."""
    with _alone() as connection:
        return connection.execute(statement, params).all()


def insert_or_skip(entity: type) -> sa.Insert:
    """INSERT … ON CONFLICT DO NOTHING for `entity` in the session's dialect (PostgreSQL or
    SQLite): a row that a unique index already holds is skipped, and RETURNING gives nothing
    for it, where a plain INSERT would fail the transaction and need a savepoint around it."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(entity).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(entity).on_conflict_do_nothing()
    raise NotImplementedError(f"INSERT … ON CONFLICT DO NOTHING on {dialect}")
