"""Where the shipped folders (templates, content, migrations) live, in a checkout or a wheel."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """Return the shipped folder `name`: inside the wheel if installed, else the source tree."""
    for candidate in (PACKAGE_DIR / "_shipped" / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"shipped folder {name!r} not found next to {PACKAGE_DIR}")
