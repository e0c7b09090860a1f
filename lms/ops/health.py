"""What /healthz asks: can this instance reach its database?"""

from __future__ import annotations

import sqlalchemy as sa

from lms.extensions import db


def database_reachable() -> bool:
    """One round trip. A failure leaves the session to be rolled back, which the request's
    transaction does for an answer of 503."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return False
    return True
