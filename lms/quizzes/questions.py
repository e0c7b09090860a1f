"""What a question is, independent of storage: the shape every import, export and editor shares.

Choice questions (single, multiple, true/false) are keyed by option indices. True/false questions
have no options of their own: index 0 means "true" (正确) and 1 means "false" (错误). A fill-in
question marks each blank in its stem with three or more underscores (`____`) and lists the
accepted answers of each blank, in order.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from lms.enums import LabelledEnum
from lms.text import text_problem


class QuestionType(LabelledEnum):
    SINGLE = "single", _l("单选题")
    MULTIPLE = "multiple", _l("多选题")
    TRUE_FALSE = "true_false", _l("判断题")
    FILL_BLANK = "fill_blank", _l("填空题")


CHOICE_TYPES = {QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.TRUE_FALSE}
BLANK = re.compile(r"_{3,}")
MAX_OPTIONS = 8
LETTERS = "ABCDEFGH"
# Limits shared by the question form, the file imports and the shipped banks.
MAX_STEM = 2000
MAX_OPTION = 500
MAX_ANSWER = 200
MAX_EXPLANATION = 2000
MAX_SOURCE = 255
MAX_TAGS = 20
MAX_TAG = 32
MAX_REF = 64
MAX_CATEGORY_DEPTH = 8
MAX_CATEGORY_NAME = 64
MAX_CATEGORY_PATH = 200


@dataclass
class QuestionData:
    type: QuestionType
    stem: str
    options: list[str] = field(default_factory=list)
    correct: list[int] = field(default_factory=list)
    blanks: list[list[str]] = field(default_factory=list)
    explanation: str = ""
    source: str = ""
    difficulty: int = 2
    tags: list[str] = field(default_factory=list)
    category: str = ""  # a path of category names separated by "/", e.g. "党章/总纲"
    ref: str = ""  # a stable id chosen by the author; re-importing matches on it
    # A key shared by questions that give one another away ("" none); None: a format that does
    # not carry it, so saving leaves the question's group as it is.
    exclusive_group: str | None = None

    @property
    def blank_count(self) -> int:
        return len(BLANK.findall(self.stem))


def validate_question(q: QuestionData) -> list[str]:
    """Everything wrong with `q`, as messages in the user's language (empty when it is fine)."""
    problems: list[str] = []
    if not q.stem.strip():
        problems.append(_("题干不能为空。"))
    if q.difficulty not in (1, 2, 3):
        problems.append(_("难度须为 1、2 或 3。"))
    if len(q.tags) > MAX_TAGS:
        problems.append(_("标签太多（最多 %(n)d 个）。", n=MAX_TAGS))
    texts = [
        (_("题干"), q.stem, MAX_STEM, True),
        *((_("选项"), option, MAX_OPTION, False) for option in q.options),
        *((_("填空答案"), a, MAX_ANSWER, False) for accepted in q.blanks for a in accepted),
        (_("解析"), q.explanation, MAX_EXPLANATION, True),
        (_("出处"), q.source, MAX_SOURCE, False),
        *((_("标签"), tag, MAX_TAG, False) for tag in q.tags),
        (_("编号"), q.ref, MAX_REF, False),
        (_("互斥组"), q.exclusive_group or "", MAX_REF, False),
    ]
    # One message per kind of field: a file of 200 bad tags needs saying once.
    said: set[str] = set()
    for label, text, limit, multiline in texts:
        problem = text_problem(label, text, limit, multiline)
        if problem and label not in said:
            said.add(label)
            problems.append(problem)
    problems.extend(category_problems(q.category))
    if q.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        options = [o.strip() for o in q.options]
        if not 2 <= len(options) <= MAX_OPTIONS:
            problems.append(_("选择题须有 2 到 %(n)d 个选项。", n=MAX_OPTIONS))
        if any(not o for o in options):
            problems.append(_("选项不能为空。"))
        if len(set(options)) != len(options):
            problems.append(_("选项不能重复。"))
        if any(not 0 <= i < len(options) for i in q.correct):
            problems.append(_("答案指向了不存在的选项。"))
        elif q.type == QuestionType.SINGLE and len(set(q.correct)) != 1:
            problems.append(_("单选题须有且只有一个正确答案。"))
        elif q.type == QuestionType.MULTIPLE and len(set(q.correct)) < 1:
            problems.append(_("多选题至少要有一个正确答案。"))
    elif q.type == QuestionType.TRUE_FALSE:
        if q.options:
            problems.append(_("判断题没有选项。"))
        if q.correct not in ([0], [1]):
            problems.append(_("判断题的答案须为“正确”或“错误”。"))
    elif q.type == QuestionType.FILL_BLANK:
        if q.blank_count == 0:
            problems.append(_("填空题的题干中须用 ____ 标出空格。"))
        elif len(q.blanks) != q.blank_count:
            problems.append(
                _(
                    "题干有 %(blanks)d 个空格，但给出了 %(answers)d 组答案。",
                    blanks=q.blank_count,
                    answers=len(q.blanks),
                )
            )
        if any(not [a for a in accepted if a.strip()] for accepted in q.blanks):
            problems.append(_("每个空格至少要有一个答案。"))
        elif any(not a.strip() for accepted in q.blanks for a in accepted):
            problems.append(_("填空题的可接受答案不能为空白。"))
    return problems


def category_parts(path: str) -> list[str]:
    """The names of a category path "a / b/c", trimmed, empty ones dropped."""
    return [part.strip() for part in path.split("/") if part.strip()]


def category_problems(path: str) -> list[str]:
    """What is wrong with a category path: too deep, a name too long, hidden characters."""
    parts = category_parts(path)
    if len(parts) > MAX_CATEGORY_DEPTH:
        return [_("分类层级太多（最多 %(n)d 级）。", n=MAX_CATEGORY_DEPTH)]
    if len(path) > MAX_CATEGORY_PATH:
        return [_("分类路径太长（最多 %(n)d 个字符）。", n=MAX_CATEGORY_PATH)]
    for part in parts:
        if problem := text_problem(_("分类名称"), part, MAX_CATEGORY_NAME):
            return [problem]
    return []


def normalise_text(text: str) -> str:
    """Fill-in answers are compared after NFKC (full-width → half-width), trimming, collapsing
    spaces and folding the case of Latin letters."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())
