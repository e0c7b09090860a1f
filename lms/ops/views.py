"""/healthz: can this instance reach its database and Redis? For load balancers and operators."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from lms.ops.health import database_reachable

bp = Blueprint("ops", __name__)


@bp.route("/healthz")
def healthz():
    checks = {"database": "ok" if database_reachable() else "unreachable"}
    if url := current_app.config.get("REDIS_URL"):
        from redis import Redis
        from redis.exceptions import RedisError

        try:
            Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
            checks["redis"] = "ok"
        except (RedisError, OSError):
            checks["redis"] = "unreachable"
    else:
        checks["redis"] = "not configured"
    healthy = all(value in ("ok", "not configured") for value in checks.values())
    return jsonify(status="ok" if healthy else "failing", **checks), 200 if healthy else 503
