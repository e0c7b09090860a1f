"""Small helpers for writing .xlsx files that open safely in Excel."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@")


_SHEET_TITLE_FORBIDDEN = re.compile(r"[\\/?*\[\]:]")


def sheet_title(title: str) -> str:
    """A name Excel accepts for a sheet: none of / \\ ? * [ ] :, no control characters, no
    leading or trailing apostrophe, at most 31 characters, never empty."""
    cleaned = _SHEET_TITLE_FORBIDDEN.sub("_", ILLEGAL_CHARACTERS_RE.sub("", title))
    return cleaned.strip("' ")[:31].strip("' ") or "Sheet"


def cell_text(value: object) -> object:
    """A value as a cell can hold it: text loses the control characters XML cannot carry."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _cell(sheet: WriteOnlyWorksheet, value: object, bold: bool = False) -> WriteOnlyCell:
    value = cell_text(value)
    cell = WriteOnlyCell(sheet, value=value)
    # A text that looks like a formula stays text: no formula injection through a name.
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        cell.data_type = "s"
    if bold:
        cell.font = Font(bold=True)
    return cell


def build_workbook(
    sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[object]]]],
) -> bytes:
    """Write sheets of (title, header, rows) with a streaming workbook and return the bytes."""
    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title=sheet_title(title))
        sheet.append([_cell(sheet, name, bold=True) for name in header])
        for row in rows:
            sheet.append([_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def attachment_headers(filename: str) -> dict[str, str]:
    """Content-Disposition with an ASCII fallback and the real (e.g. Chinese) name per RFC 5987."""
    fallback = filename.encode("ascii", "ignore").decode() or "download"
    fallback = fallback.replace('"', "")
    return {
        "Content-Disposition": (
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
        )
    }


def inline_headers(filename: str) -> dict[str, str]:
    """Like `attachment_headers`, but for a file the browser shows (e.g. a PDF)."""
    headers = attachment_headers(filename)
    headers["Content-Disposition"] = headers["Content-Disposition"].replace(
        "attachment", "inline", 1
    )
    return headers


def xlsx_response(filename: str, data: bytes) -> Response:
    return Response(data, mimetype=XLSX_MIMETYPE, headers=attachment_headers(filename))
