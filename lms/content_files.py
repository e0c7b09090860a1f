"""Shipped content files: reading their YAML, and the error that names the file, the field and
the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ContentError(Exception):
    """A content file is invalid: the message names the file, the field and the reason."""


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"{path}: cannot be read: {exc}") from exc
