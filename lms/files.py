"""Files written whole or not at all."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_file(target: Path) -> Iterator[BinaryIO]:
    """Open a temporary file beside `target` for writing; it becomes `target` only when the block
    ends without error. On any error (disk full, a killed request) the partial file is removed,
    so readers never see half a file.

    The bytes and the rename are flushed to disk before returning: the database row that names
    the file is committed afterwards, and after a power cut it must not point at an empty file
    (existing files are never written again)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}-{threading.get_ident()}.part")
    try:
        with partial.open("wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    finally:
        partial.unlink(missing_ok=True)
