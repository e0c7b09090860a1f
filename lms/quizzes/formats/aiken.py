"""Moodle Aiken question files, read by parse_aiken.

Aiken — single-choice only: the question (one or more lines), options `A. text` or `A) text`
(also `A．`, `A）`, `A、`) in letter order, then `ANSWER: B`; blank lines between questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _

from lms.quizzes.formats.parsing import (
    Collector,
    ParseResult,
    TooManyQuestions,
    text_lines,
    too_many_questions,
)
from lms.quizzes.questions import LETTERS, QuestionData, QuestionType
from lms.text import excerpt

_AIKEN_OPTION = re.compile(r"([A-Z])\s*[.)．）、]\s*(.*)")
_AIKEN_ANSWER = re.compile(r"ANSWER\s*[:：]\s*(.*)", re.IGNORECASE)


@dataclass
class _AikenQuestion:
    start: int
    stem: list[str]
    options: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _finish_aiken(collector: Collector, q: _AikenQuestion, answer: str | None) -> None:
    problems = list(q.problems)
    correct: list[int] = []
    if answer is None:
        problems.append(_("缺少 ANSWER 行（如 ANSWER: B）。"))
    elif len(answer) != 1 or answer.upper() not in LETTERS:
        problems.append(
            _(
                "ANSWER 行须为一个选项字母（如 ANSWER: B），而不是“%(value)s”。",
                value=excerpt(answer),
            )
        )
    elif LETTERS.index(answer.upper()) >= len(q.options):
        problems.append(_("答案 %(letter)s 不在选项中。", letter=answer.upper()))
    else:
        correct = [LETTERS.index(answer.upper())]
    if len(q.options) < 2:
        problems.append(_("至少需要两个选项。"))
    question = QuestionData(
        type=QuestionType.SINGLE, stem="\n".join(q.stem), options=q.options, correct=correct
    )
    collector.add(q.start, question, problems)


def parse_aiken(text: str) -> ParseResult:
    """Read single-choice questions in Moodle's Aiken format."""
    collector = Collector()
    current: _AikenQuestion | None = None
    try:
        for number, line in enumerate(text_lines(text), start=1):
            line = line.strip()
            if not line:
                if current is not None:
                    _finish_aiken(collector, current, None)
                current = None
                continue
            if current is None:
                current = _AikenQuestion(number, [line])
                continue
            answer = _AIKEN_ANSWER.fullmatch(line)
            option = _AIKEN_OPTION.fullmatch(line)
            if answer:
                _finish_aiken(collector, current, answer.group(1).strip())
                current = None
            elif option:
                expected = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[len(current.options) % 26]
                if option.group(1) != expected:
                    current.problems.append(
                        _(
                            "第 %(line)d 行的选项应为 %(letter)s。",
                            line=number,
                            letter=expected,
                        )
                    )
                current.options.append(option.group(2).strip())
            elif current.options:
                current.problems.append(
                    _(
                        "第 %(line)d 行既不是选项（A. …）也不是 ANSWER 行。",
                        line=number,
                    )
                )
            else:
                current.stem.append(line)
        if current is not None:
            _finish_aiken(collector, current, None)
    except TooManyQuestions:
        return too_many_questions()
    return collector.finish()
