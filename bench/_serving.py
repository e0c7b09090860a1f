"""Helpers for the benchmarks that serve the app over HTTP: a demo database, gunicorn, a client."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def demo_app(folder: Path):
    """A fresh app on an SQLite file in `folder`, migrated and holding the demo content."""
    os.environ["LMS_INSTANCE_PATH"] = str(folder)
    from flask_migrate import upgrade

    from lms import create_app
    from lms.content import load_demo
    from lms.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url(folder)})
    with app.app_context():
        upgrade()
        load_demo()
        db.session.commit()
    return app


def database_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'bench.db'}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """One gunicorn master serving `module:app` on a free local port; stop() ends it."""

    def __init__(
        self,
        target: str,
        folder: Path,
        args: list[str],
        env: dict[str, str],
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.port = free_port()
        self.log = folder / f"gunicorn-{self.port}.log"
        command = [
            str(GUNICORN),
            "--pythonpath",
            str(REPO),
            "-b",
            f"127.0.0.1:{self.port}",
            "--no-control-socket",  # two servers run at once; keep them out of ~/.gunicorn
            *args,
            target,
        ]
        with self.log.open("wb") as log:
            # Fixed argument list, no shell: the venv's own gunicorn.
            self.process = subprocess.Popen(  # noqa: S603
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env},
                preexec_fn=preexec_fn,  # e.g. a resource limit for the fault suite
            )
        try:
            self._wait_ready()
        except RuntimeError:
            self.stop()
            raise

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_tail()}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                conn.request("GET", "/__bench_ready__")
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.1)
            finally:
                conn.close()
        raise RuntimeError(f"gunicorn did not start:\n{self.log_tail()}")

    def workers(self) -> list[int]:
        pids: list[int] = []
        for children in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            pids += [int(pid) for pid in children.read_text().split()]
        return pids

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def last_error(self) -> str:
        """The last exception line the server logged, if any."""
        lines = [
            line
            for line in self.log.read_text(errors="replace").splitlines()
            if re.match(r"^[\w.]+(Error|Exception|TooLarge)\b.*:", line)
        ]
        return lines[-1] if lines else ""

    def stop(self, *, failed: bool = False) -> None:
        if failed:
            print(f"gunicorn log ({self.log.name}):\n{self.log_tail()}", file=sys.stderr)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Client:
    """A tiny HTTP client with a cookie jar, enough to sign in and post forms."""

    def __init__(self, port: int, timeout: float = 600) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def request(
        self, method: str, path: str, body=None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        all_headers = {"Cookie": self.cookie_header(), **(headers or {})}
        try:
            # A server that refuses an upload may answer and close before reading it all; its
            # answer is still waiting to be read.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()  # also when the server went away mid-request
        for raw in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = raw.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, dict(response.getheaders()), data

    def csrf_token(self, path: str) -> str:
        status, _, page = self.request("GET", path)
        assert status == 200, (path, status)
        match = CSRF_RE.search(page.decode())
        assert match, f"no csrf_token on {path}"
        return match.group(1) or match.group(2)

    def login(self, username: str, password: str) -> None:
        token = self.csrf_token("/login")
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrf_token": token, "next": ""}
        )
        status, headers, _ = self.request(
            "POST",
            "/login",
            body=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        location = headers.get("Location", "")
        assert status == 302 and "/login" not in location, (status, location)
