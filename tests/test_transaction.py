"""One transaction per request: what a view's way of ending keeps, and what runs after commit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import abort

from lms.catalog.models import Theme
from lms.extensions import db
from lms.transaction import after_commit, atomic, keep_changes, one_row_alone, rows_alone

ENDPOINT = "ops.healthz"  # any view will do: the test puts its own in its place


@pytest.fixture
def view(app, monkeypatch):
    """view(function) → the URL that now runs `function` (the app's own dispatch around it)."""

    def install(function):
        monkeypatch.setitem(app.view_functions, ENDPOINT, function)
        return "/healthz"

    return install


def _stored(name: str) -> bool:
    return db.session.scalar(sa.select(sa.func.count()).where(Theme.name == name)) == 1


def _add(name: str) -> None:
    db.session.add(Theme(name=name))
    db.session.flush()


def test_a_view_that_answers_is_committed_once(client, view):
    def answers():
        _add("answered")
        return "ok"

    assert client.get(view(answers)).status_code == 200
    assert _stored("answered")


def test_a_view_that_raises_keeps_nothing(client, view):
    def fails():
        _add("failed")
        raise RuntimeError("half-way")

    assert client.get(view(fails)).status_code == 500
    assert not _stored("failed")


@pytest.mark.parametrize("status", [400, 403, 404, 409, 503])
def test_a_view_that_answers_an_error_keeps_nothing(client, view, status):
    def refuses():
        _add(f"refused {status}")
        return "no", status

    assert client.get(view(refuses)).status_code == status
    assert not _stored(f"refused {status}")


def test_a_refusal_that_says_so_keeps_what_it_changed_on_the_way(client, view):
    def finishes_then_refuses():
        _add("kept on a 409")
        keep_changes()
        return "finished on the way", 409

    def finishes_then_aborts():
        _add("kept on a 403")
        keep_changes()
        abort(403)

    assert client.get(view(finishes_then_refuses)).status_code == 409
    assert client.get(view(finishes_then_aborts)).status_code == 403
    assert _stored("kept on a 409") and _stored("kept on a 403")


def test_a_refused_step_in_a_savepoint_keeps_nothing_of_itself_but_the_answer_stands(client, view):
    def shows_the_form_again():
        _add("before the step")
        try:
            with atomic():
                _add("half of the step")
                raise ValueError("the step is refused")
        except ValueError:
            return "the form again, with the reason"

    assert client.get(view(shows_the_form_again)).status_code == 200
    assert _stored("before the step") and not _stored("half of the step")


def test_work_after_commit_runs_only_once_the_changes_are_stored(client, view):
    ran: list[tuple[str, bool]] = []

    def follow_up(name):
        ran.append((name, db.session.get(Theme, ids[name]) is not None))

    ids: dict[str, int] = {}

    def answers(name, status):
        def handler():
            theme = Theme(name=name)
            db.session.add(theme)
            db.session.flush()
            ids[name] = theme.id
            after_commit(lambda: follow_up(name))
            assert ran == []  # not yet: the request has not committed
            return "", status

        return handler

    client.get(view(answers("stored", 200)))
    client.get(view(answers("refused", 400)))
    assert ran == [("stored", True)]


def test_no_view_module_commits_or_rolls_back():
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "lms"
    pages = [p for p in package.rglob("*.py") if p.name == "views.py" or p.parent.name == "views"]
    assert len(pages) > 20  # views.py modules and the modules of views packages
    offenders = [
        str(path.relative_to(package))
        for path in pages
        if "commit()" in path.read_text() or "rollback()" in path.read_text()
    ]
    assert offenders == []


@pytest.fixture
def alone(app, database_url):
    """The app on an Engine of its own (not the tests' outer transaction, in which everything
    would join the session) and a throwaway table; yields (engine, table, count)."""
    engine = sa.create_engine(database_url)
    table = sa.Table("alone_check", sa.MetaData(), sa.Column("n", sa.Integer))
    table.create(engine)
    engines = db.engines
    outer = engines[None]  # the test's outer transaction (conftest._rollback)
    engines[None] = engine
    db.session.remove()

    def count() -> int:  # what another connection sees stored
        with engine.connect() as other:
            return other.scalar(sa.select(sa.func.count()).select_from(table))

    try:
        yield engine, table, count
    finally:
        db.session.remove()
        engines[None] = outer
        table.drop(engine)
        engine.dispose()


def test_one_statement_alone_is_stored_at_once_on_postgresql_only(app, alone):
    """With the request's transaction not begun: on PostgreSQL the statement commits by itself
    (another connection sees it before the request ends, the request's rollback leaves it, the
    pooled connection goes back out of autocommit); on SQLite it runs in the request's
    transaction."""
    engine, table, count = alone
    postgresql = engine.dialect.name == "postgresql"
    with app.test_request_context():
        row = one_row_alone(sa.insert(table).values(n=7).returning(table.c.n), {})
        assert row is not None and row.n == 7
        assert db.session().in_transaction() is not postgresql
        assert count() == (1 if postgresql else 0)
        db.session.rollback()
    assert count() == (1 if postgresql else 0)
    if postgresql:
        with engine.connect() as reused:
            assert reused.connection.driver_connection.autocommit is False


def test_one_statement_alone_joins_the_transaction_a_request_has_begun(app, alone):
    _engine, table, count = alone
    with app.test_request_context():
        db.session.execute(sa.insert(table).values(n=1))  # the request is at work
        row = one_row_alone(sa.insert(table).values(n=2).returning(table.c.n), {})
        assert row is not None and row.n == 2
        assert count() == 0  # neither is stored before the request's commit
        db.session.rollback()
    assert count() == 0


def test_one_query_alone_leaves_the_request_without_a_transaction_on_postgresql_only(app, alone):
    """A request's whole read: on PostgreSQL it neither begins the request's transaction nor
    leaves one to end (no BEGIN, no COMMIT); elsewhere it reads in the request's transaction.
    Either way it reads what is stored, and what the request has begun to write."""
    engine, table, _count = alone
    with engine.begin() as other:
        other.execute(sa.insert(table), [{"n": 1}, {"n": 2}])
    postgresql = engine.dialect.name == "postgresql"
    query = sa.select(table.c.n).order_by(table.c.n)
    with app.test_request_context():
        assert [row.n for row in rows_alone(query, {})] == [1, 2]
        assert db.session().in_transaction() is not postgresql
        db.session.execute(sa.insert(table).values(n=3))  # now the request is at work
        assert [row.n for row in rows_alone(query, {})] == [1, 2, 3]
        db.session.rollback()
