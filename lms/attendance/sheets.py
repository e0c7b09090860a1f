"""Excel for attendance: the printable sign-in sheet, the export, and the all-or-nothing import
(the export's own layout: one row per member, one column per lesson)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from flask import current_app
from flask_babel import gettext as _

from lms.attendance.models import AttendanceStatus
from lms.attendance.services import Grid
from lms.excel import MAX_COLUMNS, SpreadsheetError, build_workbook, cell_as_text, read_sheet_rows
from lms.sessions.models import Lesson
from lms.text import excerpt

# The words accepted in a cell, in Chinese whatever the UI language (and the English values).
STATUS_WORDS = {
    "出勤": AttendanceStatus.PRESENT,
    "迟到": AttendanceStatus.LATE,
    "早退": AttendanceStatus.LEFT_EARLY,
    "缺勤": AttendanceStatus.ABSENT,
    "请假": AttendanceStatus.ON_LEAVE,
    **{status.value: status for status in AttendanceStatus},
}
STATUS_NAMES = {status: word for word, status in list(STATUS_WORDS.items())[:5]}


def lesson_heading(lesson: Lesson) -> str:
    start = lesson.local_start
    return f"{start:%m-%d %H:%M} {lesson.course.title}（#{lesson.id}）"


def sign_in_sheet(grid: Grid) -> bytes:
    header = [_("序号"), _("工号"), _("姓名"), _("党支部")] + [
        f"{lesson_heading(lesson)} {_('签名')}" for lesson in grid.lessons
    ]
    rows = (
        [n, m.staff_no, m.name, m.branch.name] + [""] * len(grid.lessons)
        for n, m in enumerate(grid.members, start=1)
    )
    return build_workbook([(grid.session.title, header, rows)])


def attendance_workbook(grid: Grid) -> bytes:
    header = [_("工号"), _("姓名")] + [lesson_heading(lesson) for lesson in grid.lessons]
    rows = (
        [m.staff_no, m.name]
        + [
            STATUS_NAMES[cell.status] if (cell := grid.cells.get((m.id, lesson.id))) else ""
            for lesson in grid.lessons
        ]
        for m in grid.members
    )
    return build_workbook([(grid.session.title, header, rows)])


@dataclass
class ParsedAttendance:
    changes: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def read_attendance(grid: Grid, stream: IO[bytes]) -> ParsedAttendance:
    """Read the export's layout back, row by row (a sheet has no more rows than a roster)."""
    result = ParsedAttendance()
    rows = read_sheet_rows(
        stream,
        current_app.config["ROSTER_MAX_ROWS"],
        max_columns=max(MAX_COLUMNS, len(grid.lessons) + 2),
    )
    try:
        result.errors = _read_rows(grid, rows, result.changes)
    except SpreadsheetError as exc:
        return ParsedAttendance(errors=[str(exc)])
    if not result.changes and not result.errors:
        result.errors.append(_("文件中没有考勤记录。"))
    return result


def _read_rows(grid: Grid, rows: Iterator[tuple[int, list[object]]], changes: dict) -> list[str]:
    errors: list[str] = []
    first = next(rows, None)
    if first is None:
        return [_("文件是空的。")]
    header = [cell_as_text(v) for v in first[1]]
    by_heading = {lesson_heading(lesson): lesson for lesson in grid.lessons}
    columns = {}
    for index, name in enumerate(header[2:], start=2):
        if not name:
            continue
        if name not in by_heading:
            errors.append(_("第 1 行：不认识的课次列“%(name)s”。", name=excerpt(name)))
        else:
            columns[index] = by_heading[name]
    members = {m.staff_no: m for m in grid.members}
    for number, row in rows:
        cells = [cell_as_text(v) for v in row]
        if not any(cells):
            continue
        staff_no = cells[0] if cells else ""
        member = members.get(staff_no)
        if member is None:
            errors.append(
                _(
                    "第 %(row)d 行：工号 %(no)s 不在本期参训名单中。",
                    row=number,
                    no=excerpt(staff_no),
                )
            )
            continue
        for index, lesson in columns.items():
            word = cells[index] if index < len(cells) else ""
            if not word:
                continue
            status = STATUS_WORDS.get(word)
            if status is None:
                errors.append(
                    _(
                        "第 %(row)d 行“%(column)s”：“%(word)s”不是出勤、迟到、早退、缺勤或请假。",
                        row=number,
                        column=header[index],
                        word=excerpt(word),
                    )
                )
                continue
            changes[(member.id, lesson.id)] = status
    return errors
