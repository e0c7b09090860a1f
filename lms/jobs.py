"""Background work: RQ on Redis when it is configured, a thread in this process otherwise
(the embedded demo needs no Redis). If Redis is configured but down, the work still runs, in a
thread, and the log says so."""

from __future__ import annotations

import logging
import threading

from flask import current_app

log = logging.getLogger(__name__)


def enqueue(function, *args) -> str:
    """Run `function(*args)` in the background; it opens its own app context. Returns where."""
    app = current_app._get_current_object()
    if app.config.get("JOBS_INLINE"):
        function(*args, in_context=True)
        return "inline"
    if url := app.config.get("REDIS_URL"):
        # Imported only where Redis is configured: with rq loaded, the certificate benchmark's
        # forked renderers ran about 10 % slower (24.4 against 21.9 ms a certificate).
        from redis import Redis
        from redis.exceptions import RedisError
        from rq import Queue

        try:
            connection = Redis.from_url(url, socket_connect_timeout=2)
            queue = Queue(app.config["RQ_QUEUE"], connection=connection)
            queue.enqueue(function, *args, job_timeout=3600)
            return "rq"
        except (RedisError, OSError):
            log.warning("Redis unavailable; running %s in a thread instead", function.__name__)
    threading.Thread(target=function, args=args, kwargs={"app": app}, daemon=True).start()
    return "thread"
