"""Statuses follow the dates even where nobody runs `lms sessions advance` from cron: the first
signed-in page of the day advances them, in a transaction of its own (like a job's)."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_login import current_user

from lms import signals
from lms.access import view_checks_account
from lms.clock import local_today
from lms.database import utcnow
from lms.extensions import db
from lms.sessions import services


def advance_statuses_once_a_day() -> None:
    if not current_app.config["SESSIONS_ADVANCE_DAILY"]:
        return
    today = local_today()
    if current_app.extensions.get("sessions_advanced_on") == today:
        return  # before anything that loads the user: most requests stop here
    endpoint = request.endpoint or "static"
    if endpoint.endswith("static") or view_checks_account() or not current_user.is_authenticated:
        return  # assets, health checks, autosaves and anonymous pages never wait on it
    started = services.advance_session_statuses(today)
    others_changed = any(changed for _receiver, changed in signals.day_began.send(utcnow()))
    if started or others_changed:
        db.session.commit()
    current_app.extensions["sessions_advanced_on"] = today


def init_daily(app: Flask) -> None:
    app.before_request(advance_statuses_once_a_day)
