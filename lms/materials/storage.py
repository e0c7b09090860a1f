"""Material files on disk: type sniffed from the bytes, size checked, stored under their SHA-256.

Files live under the uploads folder (outside any static folder) and are only ever served by a view
that has checked access. The name a person gave the file is kept in the database, never used as
a path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import BinaryIO

import filetype
from flask import current_app
from flask_babel import gettext as _

from lms.files import atomic_file
from lms.text import hidden_character


@dataclass(frozen=True)
class FileKind:
    name: str
    content_type: str
    extensions: tuple[str, ...]
    video: bool = False
    inline: bool = False  # shown in the browser rather than downloaded


KINDS = {
    kind.name: kind
    for kind in [
        FileKind("pdf", "application/pdf", (".pdf",), inline=True),
        FileKind(
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            (".pptx",),
        ),
        FileKind(
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            (".docx",),
        ),
        FileKind(
            "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)
        ),
        FileKind("mp4", "video/mp4", (".mp4",), video=True, inline=True),
        FileKind("jpg", "image/jpeg", (".jpg", ".jpeg"), inline=True),
        FileKind("png", "image/png", (".png",), inline=True),
    ]
}
KIND_BY_EXTENSION = {ext: kind for kind in KINDS.values() for ext in kind.extensions}
ALLOWED_LABEL = "PDF、PPTX、DOCX、XLSX、MP4、JPG、PNG"
SNIFF_BYTES = 8192
MAX_NAME_LENGTH = 200


class UploadRefused(Exception):
    """The file cannot be accepted; the message says why, in the user's language."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class StoredFile:
    original_name: str
    kind: FileKind
    size: int
    sha256: str


def uploads_root() -> Path:
    return Path(current_app.config["UPLOADS_DIR"])


def material_path(sha256: str) -> Path:
    return uploads_root() / "materials" / sha256[:2] / sha256


def upload_limit(kind: FileKind) -> int:
    megabytes = current_app.config[
        "MATERIAL_MAX_VIDEO_MB" if kind.video else "MATERIAL_MAX_FILE_MB"
    ]
    return megabytes * 1024 * 1024


def largest_upload() -> int:
    """The most any material upload may send; the request body is cut off beyond it."""
    return max(upload_limit(kind) for kind in KINDS.values())


def clean_name(raw: str | None) -> str:
    """The file's own name, refused if it tries to be a path or hides control characters."""
    name = unicodedata.normalize("NFC", (raw or "").strip())
    if not name:
        raise UploadRefused(_("请选择要上传的文件。"))
    if (
        "/" in name
        or "\\" in name
        or name in {".", ".."}
        or name.startswith("..")
        or PurePath(name).name != name
        or hidden_character(name) is not None
    ):
        raise UploadRefused(_("文件名无效：不能包含路径或控制字符。"))
    if len(name) > MAX_NAME_LENGTH:
        raise UploadRefused(_("文件名太长（最多 %(n)d 个字符）。", n=MAX_NAME_LENGTH))
    return name


def sniff(stream: BinaryIO, name: str) -> tuple[FileKind, int]:
    """Check the extension is allowed and the bytes really are that kind; return kind and size."""
    extension = PurePath(name).suffix.lower()
    expected = KIND_BY_EXTENSION.get(extension)
    if expected is None:
        raise UploadRefused(_("只能上传以下类型的文件：%(types)s。", types=ALLOWED_LABEL))
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size == 0:
        raise UploadRefused(_("文件是空的。"))
    guess = filetype.guess(stream.read(SNIFF_BYTES))
    stream.seek(0)
    actual = KINDS.get(guess.extension) if guess else None
    if actual is None:
        raise UploadRefused(
            _("文件内容不是允许的类型（%(types)s），无法上传。", types=ALLOWED_LABEL)
        )
    if actual is not expected:
        raise UploadRefused(
            _(
                "文件内容是 %(actual)s，与扩展名 %(extension)s 不符。",
                actual=actual.name.upper(),
                extension=extension,
            )
        )
    limit = upload_limit(actual)
    if size > limit:
        raise UploadRefused(
            _("文件超过了 %(mb)d MB 的上限。", mb=limit // (1024 * 1024)), status=413
        )
    return actual, size


def store(stream: BinaryIO, raw_name: str | None) -> StoredFile:
    """Check and keep an uploaded file. Nothing is written unless every check passes."""
    name = clean_name(raw_name)
    kind, size = sniff(stream, name)
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(chunk)
    sha256 = digest.hexdigest()
    target = material_path(sha256)
    if not target.exists():  # the same bytes uploaded before are stored once
        stream.seek(0)
        with atomic_file(target) as out:
            shutil.copyfileobj(stream, out, 1024 * 1024)
    return StoredFile(original_name=name, kind=kind, size=size, sha256=sha256)
