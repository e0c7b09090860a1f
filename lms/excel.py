"""Small helpers for writing .xlsx files that open safely in Excel, and the one bounded reader
every import uses."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from itertools import chain, islice
from typing import IO

from flask import Response
from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from lms.clock import to_local
from lms.files import attachment_headers
from lms.text import strip_spaces

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@")


_SHEET_TITLE_FORBIDDEN = re.compile(r"[\\/?*\[\]:]")


def sheet_title(title: str) -> str:
    """A name Excel accepts for a sheet: none of / \\ ? * [ ] :, no control characters, no
    leading or trailing apostrophe, at most 31 characters, never empty."""
    cleaned = _SHEET_TITLE_FORBIDDEN.sub("_", ILLEGAL_CHARACTERS_RE.sub("", title))
    return cleaned.strip("' ")[:31].strip("' ") or "Sheet"


def cell_as_text(value: object) -> str:
    """What a person typed in a cell, as trimmed text: an empty cell is "", a whole number Excel
    keeps as a float (工号 1001 as 1001.0) loses its ".0", a date or date-time is its ISO date."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        value = value.isoformat()
    return strip_spaces(str(value))


def cell_text(value: object) -> object:
    """A value as a cell can hold it: text loses the control characters XML cannot carry."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_MEASURED_ROWS = 500  # column widths fit the header and the first rows: bounded work and memory
_MAX_WIDTH = 60


def _excel_value(value: object) -> object:
    """Text loses what XML cannot carry; an aware time becomes the plant's wall-clock time
    (Excel has no time zones); hours stay numbers."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return to_local(value).replace(tzinfo=None)
    return cell_text(value)


def _cell(sheet: WriteOnlyWorksheet, value: object, bold: bool = False) -> WriteOnlyCell:
    value = _excel_value(value)
    cell = WriteOnlyCell(sheet, value=value)
    # A text that looks like a formula stays text: no formula injection through a name.
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        cell.data_type = "s"
    elif isinstance(value, datetime):
        cell.number_format = _DATETIME_FORMAT
    elif isinstance(value, date):
        cell.number_format = _DATE_FORMAT
    if bold:
        cell.font = Font(bold=True)
    return cell


def display_width(value: object) -> int:
    """How many Excel character widths a value takes: CJK and other wide characters count two."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    text = str(value)
    return max(
        (
            sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
            for line in text.splitlines() or [""]
        ),
        default=0,
    )


def build_workbook(
    sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[object]]]],
) -> bytes:
    """Write sheets of (title, header, rows) with a streaming workbook and return the bytes.

    Each sheet has a bold header row frozen in place and columns as wide as their content
    (header and first rows, capped); dates are Excel dates, numbers numbers."""
    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title=sheet_title(title))
        rows = iter(rows)
        first = list(islice(rows, _MEASURED_ROWS))
        widths = [display_width(name) for name in header]
        for row in first:
            for index, value in enumerate(row):
                width = display_width(value)
                if index >= len(widths):
                    widths.append(width)
                elif width > widths[index]:
                    widths[index] = width
        for index, width in enumerate(widths, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = min(max(width, 4) + 2, _MAX_WIDTH)
        sheet.freeze_panes = "A2"
        sheet.append([_cell(sheet, name, bold=True) for name in header])
        for row in chain(first, rows):
            sheet.append([_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(filename: str, data: bytes, stem: str = "") -> Response:
    """The workbook as a download (`stem`: the ASCII name, see lms.files.ascii_filename)."""
    return Response(data, mimetype=XLSX_MIMETYPE, headers=attachment_headers(filename, stem))


# --- reading ---------------------------------------------------------------------------------
MAX_UNCOMPRESSED = 32 * 1024 * 1024  # what all parts of an uploaded .xlsx may unpack to
MAX_COLUMNS = 64
_CHUNK = 1024 * 1024


class SpreadsheetError(Exception):
    """The upload as a whole cannot be read; the message says why, in the user's language."""


def _check_unpacked_size(stream: IO[bytes], limit: int) -> None:
    """Refuse a zip whose parts unpack to more than `limit` bytes, before openpyxl parses any.

    The declared sizes are checked first (cheap); then every part is unpacked through a capped
    read, as the declared sizes are the sender's word. zipfile stops at the declared size and
    checks the CRC, so openpyxl afterwards reads no more than was counted here."""
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
            if sum(member.file_size for member in members) > limit:
                raise SpreadsheetError(_too_big(limit))
            unpacked = 0
            for member in members:
                with archive.open(member) as part:
                    while chunk := part.read(_CHUNK):
                        unpacked += len(chunk)
                        if unpacked > limit:
                            raise SpreadsheetError(_too_big(limit))
    except SpreadsheetError:
        raise
    except Exception as exc:  # not a zip, encrypted, a bad CRC or deflate stream: many kinds
        raise SpreadsheetError(_unreadable()) from exc
    finally:
        stream.seek(0)


def too_many_rows(max_rows: int) -> str:
    return _("文件超过 %(max)d 行（空行也计算在内），请分批导入。", max=max_rows)


def _unreadable() -> str:
    return _("无法读取该 Excel 文件，请使用 .xlsx 格式（可下载模板）。")


def _too_big(limit: int) -> str:
    return _("Excel 文件解压后超过 %(mb)d MB，请删除多余内容或分批导入。", mb=limit // 2**20)


def read_sheet_rows(
    stream: IO[bytes],
    max_rows: int,
    max_columns: int = MAX_COLUMNS,
) -> Iterator[tuple[int, list[object]]]:
    """Yield (row number, cell values) of the first sheet of an uploaded .xlsx, header first.

    Bounded whatever the file says about itself: its unpacked size, at most `max_rows` rows
    below the header (empty rows count: a sheet may declare a million) and the first `max_columns`
    columns. Raises SpreadsheetError, with a message for the user, for a file it cannot read."""
    _check_unpacked_size(stream, MAX_UNCOMPRESSED)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # not a workbook, damaged: openpyxl raises many kinds
        raise SpreadsheetError(_unreadable()) from exc
    try:
        if not workbook.worksheets:
            raise SpreadsheetError(_("Excel 文件中没有工作表。"))
        rows = workbook.worksheets[0].iter_rows(
            max_row=max_rows + 2, max_col=max_columns, values_only=True
        )
        number = 0
        while True:
            try:
                row = next(rows, None)
            except Exception as exc:  # a damaged sheet fails while being read
                raise SpreadsheetError(_("Excel 文件已损坏，无法读取。")) from exc
            if row is None:
                return
            number += 1
            if number > max_rows + 1:
                raise SpreadsheetError(too_many_rows(max_rows))
            yield number, list(row)
    finally:
        workbook.close()
