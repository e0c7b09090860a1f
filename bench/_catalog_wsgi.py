"""WSGI entry point for the benchmarks: the real app on the database named in BENCH_DATABASE_URL.

LMS_INSTANCE_PATH names the instance folder (secret key, uploads), as for `lms run`."""

import os

from lms import create_app

app = create_app({"SQLALCHEMY_DATABASE_URI": os.environ["BENCH_DATABASE_URL"]})
