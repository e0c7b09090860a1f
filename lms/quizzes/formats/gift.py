"""Moodle GIFT question files: read (parse_gift) and write (dump_gift).

The supported subset of Moodle's format:

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
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from flask_babel import gettext as _

from lms.quizzes.formats.parsing import (
    Collector,
    ParseResult,
    TooManyQuestions,
    at_line,
    category_path,
    text_lines,
    too_many_questions,
)
from lms.quizzes.questions import BLANK, QuestionData, QuestionType

GIFT_BLANK = "____"

# --- escapes ---------------------------------------------------------------------------------
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


# --- reading ---------------------------------------------------------------------------------
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
    for number, line in enumerate(text_lines(text), start=1):
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
    collector = Collector()
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
                category = category_path(path)
            if not lines:
                continue
            start = lines[0][0]
            question, problems = _parse_gift_question(
                "\n".join(line for _number, line in lines), meta, category
            )
            for error_line, problem in meta.errors:
                collector.result.errors.append(at_line(error_line, problem))
            if meta.errors:
                question = None
            collector.add(start, question, problems)
            meta = _Meta()
    except TooManyQuestions:
        return too_many_questions()
    return collector.finish()


# --- writing ---------------------------------------------------------------------------------
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
