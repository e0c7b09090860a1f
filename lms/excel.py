"""Small helpers for writing .xlsx files that open safely in Excel."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from lms.files import attachment_headers

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@")


def _cell(sheet: WriteOnlyWorksheet, value: object, bold: bool = False) -> WriteOnlyCell:
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
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append([_cell(sheet, name, bold=True) for name in header])
        for row in rows:
            sheet.append([_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(filename: str, data: bytes, stem: str = "") -> Response:
    """The workbook as a download (`stem`: the ASCII name, see lms.files.ascii_filename)."""
    return Response(data, mimetype=XLSX_MIMETYPE, headers=attachment_headers(filename, stem))
