"""Refuse to run in production with settings that are only safe for the demo."""

from __future__ import annotations

import os

from flask import Flask

WEAK_KEYS = {"", "dev", "secret", "change-me", "changeme", "test", "test-secret", "bench"}


class UnsafeConfiguration(RuntimeError):
    pass


def check_production(app: Flask) -> None:
    """In production (`LMS_ENV=production`) the secret key must be given, long and not a
    placeholder, and debug must be off. Raises with the list of problems."""
    if not app.config.get("PRODUCTION"):
        return
    problems = []
    key = os.environ.get("LMS_SECRET_KEY", "")
    if key.strip().lower() in WEAK_KEYS or len(key) < 32:
        problems.append("LMS_SECRET_KEY must be set to a random value of at least 32 characters")
    if app.debug or os.environ.get("FLASK_DEBUG", "").lower() in {"1", "true", "yes"}:
        problems.append("debug must be off in production (unset FLASK_DEBUG)")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        problems.append("LMS_DATABASE_URL must point at PostgreSQL in production")
    if problems:
        raise UnsafeConfiguration("refusing to start: " + "; ".join(problems))
