"""What every question-file reader shares: the ParseResult, and the Collector that checks each
question as the question form does (`validate_question`), refuses a `ref` used twice in one file
and a file of more than MAX_QUESTIONS questions, and locates each error at its line or row.

Every reader returns a ParseResult: the questions, and every error found. Callers import nothing
when there is any error. A file must hold 1 to MAX_QUESTIONS questions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _

from lms.quizzes.questions import QuestionData, validate_question
from lms.text import excerpt

MAX_QUESTIONS = 5000


@dataclass
class ParseResult:
    questions: list[QuestionData] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class TooManyQuestions(Exception):
    """More questions than one file may hold; the whole file is refused."""


def at_line(line: int, reason: str) -> str:
    return _("第 %(line)d 行：%(reason)s", line=line, reason=reason)


def too_many_questions() -> ParseResult:
    return ParseResult(errors=[_("文件中的题目超过 %(max)d 道，请分批导入。", max=MAX_QUESTIONS)])


def no_questions() -> ParseResult:
    return ParseResult(errors=[_("文件中没有题目。")])


class Collector:
    """Gathers questions and errors across a file: validation, duplicate refs, the size limit."""

    def __init__(self) -> None:
        self.result = ParseResult()
        self.count = 0
        self.refs: dict[str, int] = {}

    def add(self, line: int, question: QuestionData | None, problems: list[str]) -> None:
        self.count += 1
        if self.count > MAX_QUESTIONS:
            raise TooManyQuestions
        if question is not None and not problems:
            problems = validate_question(question)
            if question.ref:
                if question.ref in self.refs:
                    problems.append(
                        _(
                            "编号“%(ref)s”与第 %(line)d 行的题目重复。",
                            ref=excerpt(question.ref),
                            line=self.refs[question.ref],
                        )
                    )
                else:
                    self.refs[question.ref] = line
        self.result.errors.extend(at_line(line, problem) for problem in problems)
        if question is not None and not problems:
            self.result.questions.append(question)

    def finish(self) -> ParseResult:
        if self.count == 0:
            return no_questions()
        return self.result


def text_lines(text: str) -> list[str]:
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def category_path(path: str) -> str:
    return "/".join(part.strip() for part in path.split("/") if part.strip())
