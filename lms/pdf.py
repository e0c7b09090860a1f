"""The one way to make a PDF: WeasyPrint with a URL fetcher that serves only the app's own
packaged assets.

Templates refer to assets as `asset:static/app.css` or `asset:certificates/seal.svg` (relative
URLs resolve against that base). Anything else — `file:`, `http(s):`, `ftp:` — is refused at once,
so a template cannot read local files or make the server call out (and cannot hang on a network
that is not there). `data:` URLs are decoded in memory. A document of many pages (a batch of
certificates) is split here into one self-contained PDF per page.
"""

from __future__ import annotations

import base64
import io
import logging
import mimetypes
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import weasyprint
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject
from weasyprint.urls import URLFetcherResponse

from lms.paths import PACKAGE_DIR, shipped

BASE_URL = "asset:/"


class AssetRefused(Exception):
    """A URL the PDF may not use."""


def asset_roots() -> dict[str, Path]:
    return {
        "static": PACKAGE_DIR / "static",
        "certificates": shipped("content") / "certificates",
    }


def _data_url(url: str) -> URLFetcherResponse:
    header, _sep, payload = url[5:].partition(",")
    media_type = header.removesuffix(";base64") or "text/plain"
    body = base64.b64decode(payload) if header.endswith(";base64") else unquote(payload).encode()
    return URLFetcherResponse(url, body=body, headers={"Content-Type": media_type})


def locked_url_fetcher(url: str, *args, **kwargs) -> URLFetcherResponse:
    if url.startswith("data:"):
        return _data_url(url)
    parts = urlsplit(url)
    if parts.scheme != "asset":
        raise AssetRefused(f"refused: {parts.scheme or 'relative'} URL")
    root_name, _sep, rest = unquote(parts.path).lstrip("/").partition("/")
    root = asset_roots().get(root_name)
    if root is None:
        raise AssetRefused(f"refused: unknown asset folder {root_name!r}")
    path = (root / rest).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        raise AssetRefused("refused: not a packaged asset")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": media_type})


class _Collect(logging.Handler):
    """WeasyPrint's warnings of this thread (CSS it ignores, images it cannot load)."""

    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__(logging.WARNING)
        self.into, self.thread = into, threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.into.append(record)


def render_pdf(html: str, problems: list[logging.LogRecord] | None = None) -> bytes:
    """A PDF of `html` (a rendered template), fetching only packaged assets. WeasyPrint's
    warnings about it are appended to `problems` when given (an editor shows them)."""
    document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=locked_url_fetcher)
    if problems is None:
        return document.write_pdf()
    handler, logger = _Collect(problems), logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        return document.write_pdf()
    finally:
        logger.removeHandler(handler)


# A name token in a content stream (`/x1 Do`, `/F1 12 Tf`, `/a0.6 gs`, ...).
_NAME_TOKEN = re.compile(rb"/([^\s/\[\]()<>{}%]+)")


def split_pages(pdf: bytes) -> list[bytes]:
    """One self-contained PDF per page.

    WeasyPrint gives every page of a document the same resources dictionary, so a plain pypdf
    split copied every page's images (each member's QR code with its verification token) into
    every member's file, and the time and size grew with the square of the batch. Each page now
    keeps only the resources its content stream names (a form XObject carries its own
    resources, copied whole), so a member's file holds their own QR code, the seal and emblem,
    and the batch's font subsets (measured before and after: bench/README.md, certificates)."""
    reader = PdfReader(io.BytesIO(pdf))
    out = []
    for page in reader.pages:
        contents = page.get_contents()
        data = contents.get_data() if contents is not None else b""
        used = {"/" + name.decode("latin-1") for name in _NAME_TOKEN.findall(data)}
        resources = page.get("/Resources")
        if resources is not None:
            pruned = DictionaryObject()
            for kind, entries in resources.get_object().items():
                entries = entries.get_object()
                if isinstance(entries, DictionaryObject):
                    entries = DictionaryObject({k: v for k, v in entries.items() if k in used})
                pruned[NameObject(kind)] = entries
            page[NameObject("/Resources")] = pruned
        writer = PdfWriter()
        writer.add_page(page)
        buffer = io.BytesIO()
        writer.write(buffer)
        out.append(buffer.getvalue())
    return out
