"""Background work: RQ on Redis when it is configured, a thread in this process otherwise
(the embedded demo needs no Redis). If Redis is configured but down, the work still runs, in a
thread, and the log says so."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import current_app

from lms.transaction import after_commit

log = logging.getLogger(__name__)


def enqueue(function, *args, on_fallback: Callable[[], object] | None = None) -> None:
    """Run `function(*args)` in the background, once the request's transaction is committed (a
    job must find what the request stored); it opens its own app context. `on_fallback` is
    called when Redis is configured but unreachable and the work runs in a thread instead."""
    # The app itself, not the proxy, which is gone once the request ends; Flask types
    # current_app as the app, hiding the proxy's method.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("JOBS_INLINE"):
        function(*args, in_context=True)
        return
    after_commit(lambda: _start(app, function, args, on_fallback))


def _start(app, function, args, on_fallback) -> None:
    if url := app.config.get("REDIS_URL"):
        # Imported only where Redis is configured: measured, rq loaded slows the forked
        # certificate renderers (see bench/README.md, certificates).
        from redis import Redis
        from redis.exceptions import RedisError
        from rq import Queue

        try:
            connection = Redis.from_url(url, socket_connect_timeout=2)
            queue = Queue(app.config["RQ_QUEUE"], connection=connection)
            queue.enqueue(function, *args, job_timeout=3600)
            return
        except (RedisError, OSError):
            log.warning("Redis unavailable; running %s in a thread instead", function.__name__)
            if on_fallback is not None:
                on_fallback()
    threading.Thread(target=function, args=args, kwargs={"app": app}, daemon=True).start()
