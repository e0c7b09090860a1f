"""Every export goes through build_workbook: bold frozen header, widths that fit, real dates
and numbers."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import load_workbook

from lms.excel import build_workbook, display_width


def _sheet(data: bytes):
    return load_workbook(io.BytesIO(data)).worksheets[0]


def test_header_is_bold_and_frozen(app):
    sheet = _sheet(build_workbook([("名单", ["工号", "姓名"], [["A1", "张三"]])]))
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold and not sheet["A2"].font.bold


def test_widths_fit_content_counting_cjk_double_and_are_capped(app):
    rows = [["A1", "中国共产党党员教育管理工作条例", "x" * 300]]
    sheet = _sheet(build_workbook([("s", ["工号", "课程", "备注"], rows)]))
    assert display_width("中国共产党党员教育管理工作条例") == 30
    assert sheet.column_dimensions["A"].width < sheet.column_dimensions["B"].width
    assert sheet.column_dimensions["B"].width >= 30
    assert sheet.column_dimensions["C"].width == 60


def test_dates_are_dates_and_numbers_are_numbers(app):
    moment = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)  # 08:30 in Asia/Shanghai
    rows = [[date(2015, 7, 1), moment, Decimal("1.5"), 3, "=1+1"]]
    sheet = _sheet(build_workbook([("s", ["日期", "时间", "学时", "次", "名"], rows)]))
    a, b, c, d, e = (sheet.cell(row=2, column=n) for n in range(1, 6))
    assert a.is_date and a.value.date() == date(2015, 7, 1) and a.number_format == "yyyy-mm-dd"
    assert b.is_date and b.value == datetime(2026, 11, 26, 8, 30)
    assert c.data_type == "n" and c.value == 1.5
    assert d.data_type == "n" and d.value == 3
    assert e.data_type == "s" and e.value == "=1+1"


def test_hours_export_writes_hours_as_numbers(client, login_as):
    from lms.auth.models import Role
    from tests.factories import make_cycle, make_member

    make_member()
    cycle = make_cycle()
    login_as(Role.ORGANIZER)
    sheet = _sheet(client.get(f"/reports/cycles/{cycle.id}/hours.xlsx").data)
    assert sheet.freeze_panes == "A2"
    values = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert values and all(isinstance(v, int | float) for v in values)
