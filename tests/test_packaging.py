"""The built wheel carries templates, content, migrations, translations and static files, and,
installed without extras in a fresh virtual environment, migrates, loads and serves the demo."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from lms.paths import PACKAGE_DIR

ROOT = PACKAGE_DIR.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    outdir = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(outdir), ROOT],
        check=True,
        capture_output=True,
    )
    return next(outdir.glob("*.whl"))


@pytest.mark.once
def test_wheel_contains_shipped_folders(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in [
        "lms/_shipped/templates/base.html",
        "lms/_shipped/content/demo/members.csv",
        "lms/_shipped/content/demo/organisation.yaml",
        "lms/_shipped/migrations/env.py",
        "lms/_shipped/migrations/alembic.ini",
        "lms/translations/en/LC_MESSAGES/messages.mo",
        "lms/static/app.css",
    ]:
        assert required in names, required
    assert any(
        n.startswith("lms/_shipped/migrations/versions/") and n.endswith(".py") for n in names
    )


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _serve(lms: Path, env: dict, cwd: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(lms), "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload"],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            _get(f"{base}/healthz")
            break
        except OSError:
            time.sleep(0.2)
    return server, base


@pytest.mark.once
def test_wheel_without_extras_migrates_loads_and_serves_the_demo(wheel, tmp_path):
    """What `make run` does on a fresh machine, from the wheel alone: any module the app imports
    at run time but that is only a dev dependency fails here (pypdf once did)."""
    venv = tmp_path / "venv"
    # No pip inside: the test's own pip installs into it, so only the wheel's dependencies are.
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    # pip's cache (or the local index) serves the dependencies; no bytecode halves the time.
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    _run([*pip, "install", "--quiet", "--no-compile", str(wheel)])
    unwanted = {"LMS_DATABASE_URL", "LMS_REDIS_URL", "LMS_ENV", "FLASK_APP", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k not in unwanted}
    env["LMS_INSTANCE_PATH"] = str(tmp_path / "instance")
    lms = venv / "bin" / "lms"

    _run([str(lms), "db", "upgrade"], env=env, cwd=tmp_path)
    loaded = _run([str(lms), "content", "load"], env=env, cwd=tmp_path).stdout
    assert "members: 300 new" in loaded
    assert "questions: 151 new" in loaded

    server, base = _serve(lms, env, tmp_path)
    try:
        assert server.poll() is None, server.communicate()[1]
        status, page = _get(f"{base}/login")
        assert status == 200 and 'id="username"' in page
        status, health = _get(f"{base}/healthz")
        assert status == 200 and '"database":"ok"' in health.replace(" ", "")
    finally:
        server.terminate()
        server.communicate(timeout=10)
