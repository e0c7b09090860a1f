"""One transaction per request, owned by the framework: a view that returns an answer is
committed once; a view that raises, or answers with an error status (4xx, 5xx), is rolled back
unless it said `keep_changes()`; work queued with `after_commit` runs only once the request's
changes are stored. Views and services never commit or roll back themselves."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask, g, has_request_context
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
    db.session.commit()
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
