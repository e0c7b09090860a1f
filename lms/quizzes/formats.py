"""Question banks in and out of files: Moodle GIFT, Aiken and our Excel sheet, all to QuestionData.

Every reader returns a ParseResult: the questions, and every error found, each located at a line
(GIFT, Aiken) or spreadsheet row. Callers import nothing when there is any error. Every parsed
question also passes `validate_question` (the question form's own check). A file must hold 1 to
MAX_QUESTIONS questions, and a `ref` may appear only once in it.

GIFT — the supported subset of Moodle's format:

* Questions are separated by blank lines; a question may span several lines. Lines starting
  with `//` are comments. Errors are located at the first line of the question's text.
* `$CATEGORY: a/b/c` (a block of its own, or the first line of one) sets the category of the
  questions that follow; a leading `$course$/` and then `top/` (as Moodle exports) are dropped.
* `::name::` before the text is the question's `ref`.
* A leading `[moodle]` or `[plain]` format marker is dropped; `[html]` and `[markdown]` are
  refused, as we store plain text.
* Our extension, in comment lines before (or inside) a question: `// [tag:党章]` (Moodle's own
  tag syntax; one tag each, several on one line allowed), `// [source:《…》第三条]` and
  `// [difficulty:2]`. Directives in a block of comments alone carry over to the next question.
  Other comments are ignored.
* Answers in `{…}`:
  - `{=right ~wrong ~wrong}` is a single-choice question (any `=`: the `=` answers are right);
    a `~` answer may carry a zero or negative weight (`~%-50%x`), which just marks it wrong.
  - `{~%50%a ~%50%b ~%-100%c}` (no `=`) is a multiple-choice question: the answers with a
    positive weight are right, the others wrong.
  - `{T}`, `{TRUE}`, `{F}`, `{FALSE}` (any case) is a true/false question.
  - `{=a =b}` (only `=` answers) is a fill-in question: the block becomes a `____` blank in the
    stem where it stands and its answers are accepted alternatives. Our extension, which Moodle
    would not accept: several such blocks in one question are several blanks, in order.
  - Text after a choice block (Moodle's "missing word" style) puts a `____` where the block was.
  - `####text` at the end of a block is the general feedback, our `explanation`.
* Escapes `\\~ \\= \\# \\{ \\} \\: \\\\` and `\\n` (a newline) in any text, as Moodle; ours in
  addition: `\\[ \\]` inside the comment directives and `\\>` (dump_gift writes a fill-in
  answer's `->` as `-\\>`, which Moodle would read as a matching question).
* Refused, with an error naming the feature: numerical `{#…}`, matching (`=a -> b`), essay
  `{}`, per-answer feedback (`=a#feedback`), partial credit (`=%50%a` or a positive weight on a
  `~` answer of a single-choice question), and a question without an answer block.

dump_gift writes what parse_gift reads back exactly, except that surrounding whitespace of each
text is not kept, `\\r` line ends become `\\n`, and a blank is written back as four underscores.

Aiken — single-choice only: the question (one or more lines), options `A. text` or `A) text`
(also `A．`, `A）`, `A、`) in letter order, then `ANSWER: B`; blank lines between questions.

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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO

from flask_babel import gettext as _
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from lms.excel import SpreadsheetError, build_workbook, read_sheet_rows
from lms.quizzes.questions import (
    BLANK,
    LETTERS,
    QuestionData,
    QuestionType,
    validate_question,
)
from lms.text import excerpt

MAX_QUESTIONS = 5000
GIFT_BLANK = "____"


@dataclass
class ParseResult:
    questions: list[QuestionData] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _TooMany(Exception):
    """More questions than one file may hold; the whole file is refused."""


def _at(line: int, reason: str) -> str:
    return _("第 %(line)d 行：%(reason)s", line=line, reason=reason)


def _too_many() -> ParseResult:
    return ParseResult(errors=[_("文件中的题目超过 %(max)d 道，请分批导入。", max=MAX_QUESTIONS)])


def _no_questions() -> ParseResult:
    return ParseResult(errors=[_("文件中没有题目。")])


class _Collector:
    """Gathers questions and errors across a file: validation, duplicate refs, the size limit."""

    def __init__(self) -> None:
        self.result = ParseResult()
        self.count = 0
        self.refs: dict[str, int] = {}

    def add(self, line: int, question: QuestionData | None, problems: list[str]) -> None:
        self.count += 1
        if self.count > MAX_QUESTIONS:
            raise _TooMany
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
        self.result.errors.extend(_at(line, problem) for problem in problems)
        if question is not None and not problems:
            self.result.questions.append(question)

    def finish(self) -> ParseResult:
        if self.count == 0:
            return _no_questions()
        return self.result


def _lines(text: str) -> list[str]:
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _category(path: str) -> str:
    return "/".join(part.strip() for part in path.split("/") if part.strip())


# --- GIFT: escapes ---------------------------------------------------------------------------
_ESCAPABLE = "\\~=#{}:[]>n"
_PLACEHOLDER_BASE = 0xD800  # the first surrogate; see _Escapes
_SURROGATE = re.compile("[\ud800-\udfff]")
_WEIGHT = re.compile(r"\s*%(-?\d+(?:\.\d+)?)%")
_FORMAT = re.compile(r"\[(moodle|plain|html|markdown)\]")
_DIRECTIVE = re.compile(r"\[(tag|source|difficulty):([^\]]*)\]")
_TRUE_FALSE = {"T": 0, "TRUE": 0, "F": 1, "FALSE": 1}


class _Escapes:
    """Swaps each escape sequence for a placeholder character, so the text's structure can be
    read with plain string operations, then swaps them back.

    The placeholders are lone surrogates: decoded text (UTF-8, GB18030) never holds one, and
    `parse_gift` refuses a text that does, so a placeholder can never meet the same character
    in the file (private-use characters could: a file may be made of them)."""

    def __init__(self) -> None:
        self.placeholders = {ch: chr(_PLACEHOLDER_BASE + i) for i, ch in enumerate(_ESCAPABLE)}
        self.restore_table = str.maketrans(
            {p: ("\n" if ch == "n" else ch) for ch, p in self.placeholders.items()}
        )

    def protect(self, text: str) -> str:
        out: list[str] = []
        i = 0
        while i < len(text):
            if text[i] == "\\" and text[i + 1 : i + 2] and text[i + 1] in self.placeholders:
                out.append(self.placeholders[text[i + 1]])
                i += 2
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    def restore(self, text: str) -> str:
        return text.translate(self.restore_table)


def _escape(text: str, extra: str = "") -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for ch in "\\~=#{}:" + extra:
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", "\\n")


# --- GIFT: reading ---------------------------------------------------------------------------
@dataclass
class _Meta:
    """What comment directives said about the next question."""

    tags: list[str] = field(default_factory=list)
    source: str | None = None
    difficulty: int | None = None
    errors: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _Block:
    kind: str  # "choice", "true_false" or "short"
    single: bool = False
    options: list[str] = field(default_factory=list)
    correct: list[int] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    feedback: str | None = None


def _read_directives(line: int, comment: str, meta: _Meta) -> None:
    escapes = _Escapes()
    for name, raw in _DIRECTIVE.findall(escapes.protect(comment)):
        value = escapes.restore(raw.strip())
        if name == "tag":
            if value:
                meta.tags.append(value)
        elif name == "source":
            meta.source = value
        elif value.isdigit():
            meta.difficulty = int(value)
        else:
            meta.errors.append((line, _("难度须为 1、2 或 3。")))


def _split_answers(content: str) -> tuple[list[tuple[str, float | None, str]], list[str]]:
    """(marker, weight, protected text) for each `=`/`~` answer of a block."""
    positions = [i for i, ch in enumerate(content) if ch in "=~"]
    if not positions or content[: positions[0]].strip():
        return [], [_("答案须以 = 或 ~ 开头。")]
    answers = []
    problems: list[str] = []
    for start, end in zip(positions, [*positions[1:], len(content)], strict=True):
        text = content[start + 1 : end]
        weight = None
        match = _WEIGHT.match(text)
        if match:
            weight = float(match.group(1))
            text = text[match.end() :]
        if "#" in text:
            problems.append(_("不支持针对单个答案的反馈（答案后的 #…）。"))
        answers.append((content[start], weight, text.strip()))
    return answers, problems


def _read_block(content: str, escapes: _Escapes) -> tuple[_Block | None, list[str]]:
    feedback = None
    if "####" in content:
        content, feedback_text = content.split("####", 1)
        feedback = escapes.restore(feedback_text.strip())
    content = content.strip()
    head = content.split("#", 1)[0].strip()
    if not content:
        return None, [_("不支持问答题（空的 {}）。")]
    if content.startswith("#"):
        return None, [_("不支持数值题（{#…}）。")]
    if "~" not in content and "=" not in content and head.upper() in _TRUE_FALSE:
        if "#" in content:
            return None, [_("不支持针对单个答案的反馈（答案后的 #…）。")]
        return _Block("true_false", correct=[_TRUE_FALSE[head.upper()]], feedback=feedback), []
    if "~" not in content and "->" in content:
        return None, [_("不支持匹配题（->）。")]
    answers, problems = _split_answers(content)
    if problems:
        return None, list(dict.fromkeys(problems))
    texts = [escapes.restore(text) for _marker, _weight, text in answers]
    if all(marker == "=" for marker, _weight, _text in answers):
        if any(weight is not None and weight != 100 for _m, weight, _t in answers):
            return None, [_("不支持部分得分（答案的百分比权重）。")]
        return _Block("short", answers=texts, feedback=feedback), []
    single = any(marker == "=" for marker, _weight, _text in answers)
    correct = []
    for index, (marker, weight, _text) in enumerate(answers):
        if single and marker == "~" and weight is not None and weight > 0:
            return None, [_("不支持部分得分（答案的百分比权重）。")]
        if single and marker == "=" and weight is not None and weight != 100:
            return None, [_("不支持部分得分（答案的百分比权重）。")]
        if (single and marker == "=") or (not single and weight is not None and weight > 0):
            correct.append(index)
    return _Block("choice", single=single, options=texts, correct=correct, feedback=feedback), []


def _parse_gift_question(
    text: str, meta: _Meta, category: str
) -> tuple[QuestionData | None, list[str]]:
    escapes = _Escapes()
    rest = escapes.protect(text).strip()
    ref = ""
    if rest.startswith("::"):
        end = rest.find("::", 2)
        if end < 0:
            return None, [_("题目名称缺少结尾的 ::。")]
        ref = escapes.restore(rest[2:end].strip())
        rest = rest[end + 2 :].lstrip()
    marker = _FORMAT.match(rest)
    if marker:
        if marker.group(1) in ("html", "markdown"):
            return None, [_("不支持 [%(format)s] 格式，请用纯文本。", format=marker.group(1))]
        rest = rest[marker.end() :]

    pieces: list[str] = []  # text, block, text, block, …, text
    blocks: list[_Block] = []
    problems: list[str] = []
    while True:
        start = rest.find("{")
        if start < 0:
            pieces.append(rest)
            break
        end = rest.find("}", start)
        if end < 0:
            return None, [_("答案部分缺少结尾的 }。")]
        content = rest[start + 1 : end]
        if "{" in content:
            return None, [_("答案部分不能嵌套 {。")]
        pieces.append(rest[:start])
        block, block_problems = _read_block(content, escapes)
        problems.extend(block_problems)
        if block is not None:
            blocks.append(block)
        rest = rest[end + 1 :]
    if any("}" in piece for piece in pieces):
        problems.append(_("多余的 }（文字中的 } 须写成 \\}）。"))
    if len(pieces) == 1:
        problems.append(_("缺少答案部分 {…}。"))
    if problems:
        return None, list(dict.fromkeys(problems))
    if len(blocks) > 1 and any(block.kind != "short" for block in blocks):
        return None, [_("只有填空题可以有多个答案部分 {…}。")]
    feedbacks = [block.feedback for block in blocks if block.feedback is not None]
    if len(feedbacks) > 1:
        return None, [_("总体反馈 #### 只能写一次。")]

    first = blocks[0]
    # A fill-in block, or a choice block with text after it (Moodle's "missing word"), is a blank.
    missing_word = first.kind == "short" or bool(pieces[-1].strip())
    stem = GIFT_BLANK.join(pieces) if missing_word else pieces[0]
    question = QuestionData(
        type=QuestionType.FILL_BLANK,
        stem=escapes.restore(stem.strip()),
        explanation=feedbacks[0] if feedbacks else "",
        source=meta.source or "",
        difficulty=meta.difficulty if meta.difficulty is not None else 2,
        tags=list(meta.tags),
        category=category,
        ref=ref,
    )
    if first.kind == "short":
        question.blanks = [block.answers for block in blocks]
    elif first.kind == "true_false":
        question.type = QuestionType.TRUE_FALSE
        question.correct = first.correct
    else:
        question.type = QuestionType.SINGLE if first.single else QuestionType.MULTIPLE
        question.options = first.options
        question.correct = first.correct
    return question, []


def _gift_blocks(text: str) -> Iterator[list[tuple[int, str]]]:
    block: list[tuple[int, str]] = []
    for number, line in enumerate(_lines(text), start=1):
        if line.strip():
            block.append((number, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def parse_gift(text: str) -> ParseResult:
    """Read questions in (our subset of) Moodle's GIFT format; see the module docstring."""
    if _SURROGATE.search(text):
        return ParseResult(errors=[_("文件不是有效的文本（含有无法识别的字符）。")])
    collector = _Collector()
    category = ""
    meta = _Meta()
    try:
        for block in _gift_blocks(text):
            lines = []
            for number, line in block:
                if line.strip().startswith("//"):
                    _read_directives(number, line.strip(), meta)
                else:
                    lines.append((number, line))
            if lines and lines[0][1].strip().startswith("$CATEGORY:"):
                path = lines.pop(0)[1].strip().removeprefix("$CATEGORY:").strip()
                if path.startswith("$course$/"):
                    path = path.removeprefix("$course$/").removeprefix("top/")
                category = _category(path)
            if not lines:
                continue
            start = lines[0][0]
            question, problems = _parse_gift_question(
                "\n".join(line for _number, line in lines), meta, category
            )
            for line, problem in meta.errors:
                collector.result.errors.append(_at(line, problem))
            if meta.errors:
                question = None
            collector.add(start, question, problems)
            meta = _Meta()
    except _TooMany:
        return _too_many()
    return collector.finish()


# --- GIFT: writing ---------------------------------------------------------------------------
def _gift_answer(marker: str, text: str, fill_in: bool = False) -> str:
    escaped = _escape(text)
    if fill_in:
        escaped = escaped.replace("->", "-\\>")
    if _WEIGHT.match(escaped):
        # The text itself starts like a weight: an explicit one keeps it text.
        marker += "%100%" if marker == "=" else "%0%"
    return marker + escaped


def _weight(count: int) -> str:
    return f"{100 / count:.5f}".rstrip("0").rstrip(".")


def _dump_gift_question(q: QuestionData) -> str:
    lines = [f"// [tag:{_escape(tag, '[]')}]" for tag in q.tags]
    if q.source:
        lines.append(f"// [source:{_escape(q.source, '[]')}]")
    if q.difficulty != 2:
        lines.append(f"// [difficulty:{q.difficulty}]")
    head = f"::{_escape(q.ref)}::" if q.ref else ""
    if _FORMAT.match(q.stem.lstrip()) or q.stem.lstrip().startswith("//"):
        # Without a marker of its own, such a stem would read as a marker or a comment.
        head += "[plain]"
    feedback = f"####{_escape(q.explanation)}" if q.explanation else ""
    if q.type == QuestionType.FILL_BLANK:
        parts = BLANK.split(q.stem)
        body = _escape(parts[0])
        for index, (accepted, after) in enumerate(zip(q.blanks, parts[1:], strict=False)):
            answers = " ".join(_gift_answer("=", a, fill_in=True) for a in accepted)
            last = index == len(parts) - 2
            body += "{" + answers + (feedback if last else "") + "}" + _escape(after)
        lines.append(head + body)
    elif q.type == QuestionType.TRUE_FALSE:
        answer = "TRUE" if q.correct == [0] else "FALSE"
        lines.append(f"{head}{_escape(q.stem)}{{{answer}{feedback}}}")
    else:
        lines.append(f"{head}{_escape(q.stem)}{{")
        correct = set(q.correct)
        for index, option in enumerate(q.options):
            if q.type == QuestionType.SINGLE:
                lines.append("\t" + _gift_answer("=" if index in correct else "~", option))
            else:
                weight = _weight(len(correct)) if index in correct else "-100"
                lines.append(f"\t~%{weight}%{_escape(option)}")
        if feedback:
            lines.append("\t" + feedback)
        lines.append("}")
    return "\n".join(lines)


def dump_gift(questions: Iterable[QuestionData]) -> str:
    """Write questions as GIFT that parse_gift (and, but for our extensions, Moodle) reads."""
    chunks = []
    category = ""
    for q in questions:
        if q.category != category:
            category = q.category
            chunks.append(f"$CATEGORY: {category}")
        chunks.append(_dump_gift_question(q))
    return "\n\n".join(chunks) + "\n" if chunks else ""


# --- Aiken -----------------------------------------------------------------------------------
_AIKEN_OPTION = re.compile(r"([A-Z])\s*[.)．）、]\s*(.*)")
_AIKEN_ANSWER = re.compile(r"ANSWER\s*[:：]\s*(.*)", re.IGNORECASE)


@dataclass
class _AikenQuestion:
    start: int
    stem: list[str]
    options: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _finish_aiken(collector: _Collector, q: _AikenQuestion, answer: str | None) -> None:
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
    collector = _Collector()
    current: _AikenQuestion | None = None
    try:
        for number, line in enumerate(_lines(text), start=1):
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
    except _TooMany:
        return _too_many()
    return collector.finish()


# --- Excel -----------------------------------------------------------------------------------
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


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel keeps the number 2 as 2.0
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        value = value.isoformat()
    return str(value).strip()


def _header(cells: list[object]) -> tuple[dict[str, int], list[str]]:
    positions: dict[str, int] = {}
    problems = []
    unknown = []
    for index, cell in enumerate(cells):
        name = _cell_text(cell)
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
        return _cell_text(cells[index]) if index is not None and index < len(cells) else ""

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
        category=_category(cell("分类")),
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
    collector = _Collector()
    try:
        rows = read_sheet_rows(stream, MAX_QUESTIONS)
        header = next(rows, None)
        if header is None:
            return _no_questions()
        positions, problems = _header(header[1])
        if problems:
            return ParseResult(errors=[_at(header[0], problem) for problem in problems])
        for number, cells in rows:
            if not any(_cell_text(cell) for cell in cells):
                continue
            question, problems = _sheet_question(cells, positions)
            collector.add(number, question, problems)
    except _TooMany:
        return _too_many()
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


# --- uploads ---------------------------------------------------------------------------------
def parse_upload(kind: str, stream) -> ParseResult:
    """An uploaded question file: an Excel sheet, or GIFT or Aiken text in UTF-8 or GB18030."""
    if kind == "xlsx":
        return read_question_sheet(stream)
    data = stream.read()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return ParseResult(questions=[], errors=[_("文件不是 UTF-8 或 GB18030 编码的文本。")])
    return parse_gift(text) if kind == "gift" else parse_aiken(text)
