"""The one way uploaded text is decoded and the one way a spreadsheet cell becomes text, shared by
the roster, attendance and question importers."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from lms.excel import cell_as_text
from lms.text import decode_text, strip_spaces


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("工号,姓名\n".encode(), "工号,姓名\n"),
        ("\ufeff工号,姓名".encode(), "工号,姓名"),  # the BOM Excel writes is not part of the text
        ("工号,姓名,喆".encode("gb18030"), "工号,姓名,喆"),  # Chinese Windows' Excel
        ("𠮷".encode("gb18030"), "𠮷"),  # outside the BMP: GB18030, not GBK
        (b"", ""),
    ],
)
def test_text_is_decoded_from_utf8_or_gb18030(data, text):
    assert decode_text(data) == text


def test_bytes_in_neither_encoding_are_not_guessed():
    assert decode_text(b"\xff\xfe\xff") is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (1001.0, "1001"),  # Excel keeps the number 1001 as a float
        (1.5, "1.5"),
        (7, "7"),
        (datetime(2020, 7, 1, 0, 0), "2020-07-01"),
        (date(2020, 7, 1), "2020-07-01"),
        ("\u3000张三\u00a0", "张三"),
        ("\ufeff工号 ", "工号"),
        ("  出勤\t", "出勤"),
        ("a b", "a b"),
    ],
)
def test_a_cell_becomes_the_text_a_person_typed(value, text):
    assert cell_as_text(value) == text


def test_only_the_edges_are_stripped():
    assert strip_spaces("\u200b 李\u3000四 \ufeff") == "李\u3000四"
