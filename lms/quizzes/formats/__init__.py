"""Question banks in and out of files: Moodle GIFT, Aiken and our Excel sheet, all to QuestionData,
one module per format (and the shipped YAML banks, `yaml_bank`); `parsing` holds what their
readers share. Here: reading an uploaded file in the format its uploader chose.
"""

from __future__ import annotations

from flask_babel import gettext as _

from lms.quizzes.formats.aiken import parse_aiken
from lms.quizzes.formats.gift import parse_gift
from lms.quizzes.formats.parsing import ParseResult
from lms.quizzes.formats.sheet import read_question_sheet
from lms.text import decode_text


def parse_upload(kind: str, stream) -> ParseResult:
    """An uploaded question file: an Excel sheet, or GIFT or Aiken text in UTF-8 or GB18030."""
    if kind == "xlsx":
        return read_question_sheet(stream)
    text = decode_text(stream.read())
    if text is None:
        return ParseResult(questions=[], errors=[_("文件不是 UTF-8 或 GB18030 编码的文本。")])
    return parse_gift(text) if kind == "gift" else parse_aiken(text)
