"""gunicorn's settings for the app: `gunicorn -c python:lms.gunicorn_conf 'lms:create_app()'`
(`make serve`, the benchmarks and the fault suite). The number of workers and the address are
given on the command line."""

import sys

# Each worker serves requests in threads, so a request waiting for the database does not hold
# up the others (an exam's autosaves, a 200 MB upload).
worker_class = "gthread"
threads = 4

# The threads of one worker share the GIL. A thread whose database answer has come back waits
# for it until the thread running lets go, which Python makes it do every 5 ms by default: at
# an exam bell, with every thread busy, each of a request's round trips cost up to that much
# more. At 0.5 ms, measured with bench/quiz_peak.py (the bell scenario, several runs each), the
# time a start spent waiting on its statements fell by about a third; the rest of the work is
# the same.
SWITCH_INTERVAL_SECONDS = 0.0005


def post_fork(_server, _worker) -> None:
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
