"""WSGI entry point for the baseline: a bare Flask app with one route rendering a static page.

BENCH_BARE_PAGE names a file holding the page; the route renders it through Jinja (as a raw block,
so the output is byte for byte that file) with render_template_string."""

import os
from pathlib import Path

from flask import Flask, render_template_string

PAGE = Path(os.environ["BENCH_BARE_PAGE"]).read_text(encoding="utf-8")
TEMPLATE = "{% raw %}" + PAGE + "{% endraw %}"

app = Flask(__name__)


@app.route("/")
def page():
    return render_template_string(TEMPLATE)
