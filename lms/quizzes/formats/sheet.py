"""Our Excel question sheet: read (read_question_sheet), written (question_sheet) and the empty
import template (template_sheet).

Excel — the first sheet: a header row (names below, matched exactly, in any order), then one
question per row; blank rows are skipped (but count towards the row limit of the one bounded
reader, `lms.excel.read_sheet_rows`) and errors name the Excel row number. `答案` holds
letters for choice questions (`B`, `ACD`, `a, c`), 正确/错误 (or 对/错, T/F, true/false) for
true/false ones, and for fill-in ones the blanks separated by `|` with accepted alternatives
separated by `/` (`中国共产党|共产主义/communism`) — so a fill-in answer cannot itself contain
`|` or `/`. `难度` is 1–3 (empty: 2); `标签` are separated by `,`, `，` or `、`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import IO

from flask_babel import gettext as _
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from lms.excel import SpreadsheetError, build_workbook, cell_as_text, read_sheet_rows
from lms.quizzes.formats.parsing import (
    MAX_QUESTIONS,
    Collector,
    ParseResult,
    TooManyQuestions,
    at_line,
    category_path,
    no_questions,
    too_many_questions,
)
from lms.quizzes.questions import LETTERS, QuestionData, QuestionType
from lms.text import excerpt

OPTION_COLUMNS = [f"选项{letter}" for letter in LETTERS]
SHEET_HEADER = [
    "编号",
    "题型",
    "分类",
    "题干",
    *OPTION_COLUMNS,
    "答案",
    "解析",
    "出处",
    "难度",
    "标签",
    "互斥组",
]
REQUIRED_COLUMNS = ("题型", "题干", "答案")
SHEET_TYPE_NAMES = {
    QuestionType.SINGLE: "单选",
    QuestionType.MULTIPLE: "多选",
    QuestionType.TRUE_FALSE: "判断",
    QuestionType.FILL_BLANK: "填空",
}
TYPE_WORDS = {
    **{name: kind for kind, name in SHEET_TYPE_NAMES.items()},
    **{name + "题": kind for kind, name in SHEET_TYPE_NAMES.items()},
    **{kind.value: kind for kind in QuestionType},
}
TRUE_FALSE_WORDS = {
    **dict.fromkeys(("正确", "对", "t", "true", "√"), 0),
    **dict.fromkeys(("错误", "错", "f", "false", "×"), 1),
}
_LETTER_SEPARATORS = re.compile(r"[\s,，、;；/]+")
_TAG_SEPARATORS = re.compile(r"[,，、]")


def _header(cells: list[object]) -> tuple[dict[str, int], list[str]]:
    positions: dict[str, int] = {}
    problems = []
    unknown = []
    for index, cell in enumerate(cells):
        name = cell_as_text(cell)
        if not name:
            continue
        if name not in SHEET_HEADER:
            unknown.append(name)
        elif name in positions:
            problems.append(_("“%(column)s”列出现了两次。", column=excerpt(name)))
        else:
            positions[name] = index
    if unknown:
        problems.append(
            _("未知的列：%(columns)s。", columns="、".join(excerpt(name) for name in unknown[:10]))
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        problems.append(_("缺少必填列：%(columns)s。", columns="、".join(missing)))
    return positions, problems


def _sheet_question(
    cells: list[object], positions: dict[str, int]
) -> tuple[QuestionData | None, list[str]]:
    def cell(name: str) -> str:
        index = positions.get(name)
        return cell_as_text(cells[index]) if index is not None and index < len(cells) else ""

    problems = []
    type_text = cell("题型")
    kind = TYPE_WORDS.get(type_text) or TYPE_WORDS.get(type_text.lower())
    if kind is None:
        problems.append(
            _(
                "题型应为 单选、多选、判断 或 填空，而不是“%(value)s”。",
                value=excerpt(type_text) or _("（空）"),
            )
        )
    difficulty = 2
    difficulty_text = cell("难度")
    if difficulty_text:
        try:
            difficulty = int(difficulty_text)
        except ValueError:
            problems.append(_("难度须为 1、2 或 3。"))
    options = [cell(name) for name in OPTION_COLUMNS]
    while options and not options[-1]:
        options.pop()
    question = QuestionData(
        type=kind or QuestionType.SINGLE,
        stem=cell("题干"),
        options=options,
        explanation=cell("解析"),
        source=cell("出处"),
        difficulty=difficulty,
        tags=[t.strip() for t in _TAG_SEPARATORS.split(cell("标签")) if t.strip()],
        category=category_path(cell("分类")),
        ref=cell("编号"),
        # A sheet without the column leaves the groups as they are; an empty cell clears one.
        exclusive_group=cell("互斥组") if "互斥组" in positions else None,
    )
    answer = cell("答案")
    if kind in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        letters = _LETTER_SEPARATORS.sub("", answer).upper()
        if any(letter not in LETTERS for letter in letters):
            problems.append(
                _("答案应为选项字母（如 B 或 ACD），而不是“%(value)s”。", value=excerpt(answer))
            )
        else:
            question.correct = sorted({LETTERS.index(letter) for letter in letters})
    elif kind is QuestionType.TRUE_FALSE:
        if answer.lower() not in TRUE_FALSE_WORDS:
            problems.append(
                _("判断题的答案应为“正确”或“错误”，而不是“%(value)s”。", value=excerpt(answer))
            )
        else:
            question.correct = [TRUE_FALSE_WORDS[answer.lower()]]
    elif kind is QuestionType.FILL_BLANK:
        if any(options):
            problems.append(_("填空题不用填写选项。"))
        question.options = []
        if answer:
            question.blanks = [
                [alternative.strip() for alternative in blank.split("/")]
                for blank in answer.split("|")
            ]
    if problems:
        return None, problems
    return question, []


def read_question_sheet(stream: IO[bytes]) -> ParseResult:
    """Read the questions of an .xlsx file laid out as `template_sheet()`."""
    collector = Collector()
    try:
        rows = read_sheet_rows(stream, MAX_QUESTIONS)
        header = next(rows, None)
        if header is None:
            return no_questions()
        positions, problems = _header(header[1])
        if problems:
            return ParseResult(errors=[at_line(header[0], problem) for problem in problems])
        for number, cells in rows:
            if not any(cell_as_text(cell) for cell in cells):
                continue
            question, problems = _sheet_question(cells, positions)
            collector.add(number, question, problems)
    except TooManyQuestions:
        return too_many_questions()
    except SpreadsheetError as exc:
        return ParseResult(errors=[str(exc)])
    return collector.finish()


def _clean(text: str) -> str:
    # Control characters cannot be stored in .xlsx; openpyxl would refuse the whole file.
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _sheet_row(q: QuestionData) -> list[object]:
    if q.type == QuestionType.FILL_BLANK:
        answer = "|".join("/".join(accepted) for accepted in q.blanks)
    elif q.type == QuestionType.TRUE_FALSE:
        answer = "正确" if q.correct == [0] else "错误"
    else:
        answer = "".join(LETTERS[i] for i in sorted(set(q.correct)))
    options = [*q.options, *[""] * (len(LETTERS) - len(q.options))]
    row: list[object] = [
        q.ref,
        SHEET_TYPE_NAMES[QuestionType(q.type)],
        q.category,
        q.stem,
        *options,
        answer,
        q.explanation,
        q.source,
        q.difficulty,
        "，".join(q.tags),
        q.exclusive_group or "",
    ]
    return [_clean(value) if isinstance(value, str) else value for value in row]


def question_sheet(questions: Iterable[QuestionData]) -> bytes:
    """The questions as an .xlsx laid out as the import template, so it can be re-imported."""
    return build_workbook([(_("题目"), SHEET_HEADER, (_sheet_row(q) for q in questions))])


TEMPLATE_EXAMPLES = [
    QuestionData(
        type=QuestionType.SINGLE,
        stem="中国共产党的最高理想和最终目标是（　　）。",
        options=[
            "实现共产主义",
            "全面建成小康社会",
            "实现中华民族伟大复兴",
            "建成社会主义现代化强国",
        ],
        correct=[0],
        explanation="党的最高理想和最终目标是实现共产主义。",
        source="《中国共产党章程》总纲",
        difficulty=1,
        tags=["党章", "理想信念"],
        category="党章/总纲",
        ref="DZ-0001",
        exclusive_group="",
    ),
    QuestionData(
        type=QuestionType.TRUE_FALSE,
        stem="党的全国代表大会每五年举行一次，由中央委员会召集。",
        correct=[0],
        source="《中国共产党章程》第三章第十九条",
        category="党章/党的中央组织",
        ref="DZ-0002",
        exclusive_group="",
    ),
    QuestionData(
        type=QuestionType.FILL_BLANK,
        stem="中国共产党是中国工人阶级的先锋队，同时是____和____的先锋队。",
        blanks=[["中国人民"], ["中华民族"]],
        source="《中国共产党章程》总纲",
        difficulty=1,
        tags=["党章"],
        category="党章/总纲",
        ref="DZ-0003",
        exclusive_group="",
    ),
]


def template_sheet() -> bytes:
    """The empty import template: the header, three example rows and a sheet of notes."""
    notes = [
        ["编号", _("可空；题目的唯一编号，重复导入时按编号更新。")],
        ["题型", _("单选、多选、判断 或 填空。")],
        ["分类", _("可空；多级分类用 / 分隔，如 党章/总纲。")],
        ["题干", _("必填；填空题用 ____（至少三个下划线）标出每个空。")],
        ["选项A～选项H", _("单选题、多选题填 2 到 8 个选项，从选项A起依次填写。")],
        [
            "答案",
            _(
                "单选、多选：选项字母，如 B 或 ACD；判断：正确 或 错误；"
                "填空：各空答案用 | 分隔，同一空的多个可接受答案用 / 分隔"
                "（因此答案本身不能含 | 或 /）。"
            ),
        ],
        ["解析", _("可空。")],
        ["出处", _("可空，如《中国共产党章程》第一章第三条。")],
        ["难度", _("1、2 或 3，空为 2。")],
        ["标签", _("可空；多个标签用逗号或顿号分隔。")],
        ["互斥组", _("可空；会相互泄露答案的题目填同一个组名，随机抽题时同一组只抽一道。")],
    ]
    return build_workbook(
        [
            (_("题目"), SHEET_HEADER, [_sheet_row(q) for q in TEMPLATE_EXAMPLES]),
            (_("填写说明"), [_("列"), _("说明")], notes),
        ]
    )
