"""The built wheel carries templates, content, migrations, translations and static files."""

import subprocess
import sys
import zipfile

import pytest

from lms.paths import PACKAGE_DIR

ROOT = PACKAGE_DIR.parent


@pytest.mark.once
def test_wheel_contains_shipped_folders(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("*.whl"))
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
