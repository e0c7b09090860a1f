"""Structured logs: one JSON object a line, each carrying the request's id."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from flask import Flask, Response, g, has_request_context, request

access = logging.getLogger("lms.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry["request_id"] = g.get("request_id")
            entry["method"] = request.method
            entry["path"] = request.path
        for field in ("status", "ms"):  # the access line's own fields
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _assign_request_id() -> None:
    g.request_started = time.perf_counter()
    given = request.headers.get("X-Request-Id", "")
    g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex


def _echo_request_id(response: Response) -> Response:
    response.headers["X-Request-Id"] = g.get("request_id", "")
    return response


def _access_line(response: Response) -> Response:
    """One line a request (the access log), with its status and time, in JSON like the rest."""
    started = g.get("request_started")
    ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    access.info(
        "%s %s", request.method, request.path, extra={"status": response.status_code, "ms": ms}
    )
    return response


def init_logs(app: Flask) -> None:
    # First of all, so even a request the CSRF check or a rate limit refuses has its id.
    app.before_request_funcs.setdefault(None, []).insert(0, _assign_request_id)
    app.after_request(_echo_request_id)
    if app.config.get("LOG_JSON"):
        app.after_request(_access_line)
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
