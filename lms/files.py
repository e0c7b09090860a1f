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

    The bytes reach the disk before the rename: the database row that names the file is
    committed afterwards, and after a power cut it must not point at an empty or torn file
    (existing files are never written again). The rename itself is not forced to disk (that
    costs another millisecond a file): at worst the file is missing, which the download pages
    report as such."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}-{threading.get_ident()}.part")
    try:
        with partial.open("wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
