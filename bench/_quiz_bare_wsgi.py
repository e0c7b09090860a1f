"""WSGI entry point for the quiz benchmark's baseline, on the database in BENCH_DATABASE_URL."""

import os

from bench._quiz_bare import make_app

app = make_app(os.environ["BENCH_DATABASE_URL"])
