"""Migrations go from empty to head and back to base, and agree with the models."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from lms import create_app
from lms.extensions import db
from tests.conftest import empty_database


@pytest.fixture
def empty_database_url(tmp_path):
    with empty_database(tmp_path) as url:
        yield url


@pytest.fixture
def fresh_app(empty_database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": empty_database_url}
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def _tables(app) -> set[str]:
    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_to_head_then_downgrade_to_base(fresh_app):
    with fresh_app.app_context():
        upgrade()
    assert _tables(fresh_app) == set(db.metadata.tables)
    with fresh_app.app_context():
        downgrade(revision="base")
    assert _tables(fresh_app) == set()
    with fresh_app.app_context():
        upgrade()  # and up again: the downgrade left nothing behind that blocks it
    assert _tables(fresh_app) == set(db.metadata.tables)


def test_models_and_migrations_agree(fresh_app):
    with fresh_app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models differ from migrations: {diff}"
