"""Files written whole or not at all, and the names they are downloaded under."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote


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


_ASCII_WORD = re.compile(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")
_EXTENSION = re.compile(r"(?:\.[A-Za-z0-9]{1,8}){1,2}$")


def ascii_filename(filename: str, stem: str = "") -> str:
    """A plain-ASCII name for clients that cannot read `filename*`: the descriptive `stem`
    (e.g. "session-12-attendance") followed by the ASCII words of the name, and its extension;
    "download.<ext>" when nothing ASCII is left. Never empty, never starting with "." or "-".

    >>> ascii_filename("2026年第11期-签到表.xlsx", "session-12-sign-in-sheet")
    'session-12-sign-in-sheet-2026-11.xlsx'
    """
    extension = _EXTENSION.search(filename)
    suffix = extension.group(0) if extension else ""
    words = [stem, *_ASCII_WORD.findall(filename[: len(filename) - len(suffix)])]
    name = "-".join(word for word in words if word).strip(".-_")
    return f"{name or 'download'}{suffix}"


def content_disposition(filename: str, stem: str = "", *, inline: bool = False) -> str:
    """The Content-Disposition of every download: the real (e.g. Chinese) name as `filename*`
    (RFC 6266 / 5987) and a meaningful ASCII fallback (see `ascii_filename`)."""
    kind = "inline" if inline else "attachment"
    fallback = ascii_filename(filename, stem)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def attachment_headers(filename: str, stem: str = "") -> dict[str, str]:
    return {"Content-Disposition": content_disposition(filename, stem)}


def inline_headers(filename: str, stem: str = "") -> dict[str, str]:
    """Like `attachment_headers`, but for a file the browser shows (e.g. a PDF)."""
    return {"Content-Disposition": content_disposition(filename, stem, inline=True)}
