"""Quiz pages: the one `quizzes` blueprint, its routes in one module per idea."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("quizzes", __name__, url_prefix="/quizzes")


def _register_routes() -> None:
    """Each module declares its routes on `bp` with `@bp.route`; importing it registers them."""
    from lms.quizzes.views import authoring, quiz_setup, statistics, taking  # noqa: F401


_register_routes()
