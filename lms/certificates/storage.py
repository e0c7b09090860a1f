"""Issued certificates' PDFs on disk, each stored once under its SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import current_app

from lms.files import atomic_file


def certificate_path(sha256: str) -> Path:
    return Path(current_app.config["CERTIFICATES_DIR"]) / sha256[:2] / f"{sha256}.pdf"


def store_pdf(pdf: bytes) -> str:
    sha256 = hashlib.sha256(pdf).hexdigest()
    target = certificate_path(sha256)
    if not target.exists():
        with atomic_file(target) as out:
            out.write(pdf)
    return sha256
