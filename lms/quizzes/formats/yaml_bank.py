"""Shipped question banks: one YAML file per document, read into `QuestionData`.

bank: 党章党规知识题库              # the bank the questions go into
category: 中国共产党章程/总纲        # default category path for this file's questions
questions:
  - ref: ZC-001                    # stable id: loading again updates, never duplicates
    type: single                   # single | multiple | true_false | fill_blank
    stem: 党的最高理想和最终目标是实现（ ）。
    options: [社会主义, 共产主义, 小康社会, 现代化]
    answer: B                      # single: a letter; multiple: letters (ABD);
                                   # true_false: 正确 or 错误; fill_blank: [[accepted…], …]
    explanation: …
    source: 《中国共产党章程》总纲
    difficulty: 1                  # 1 easy … 3 hard
    tags: [党的纲领]
    exclusive_group: ZC-ideal      # optional: questions that give one another away share a key;
                                   # an attempt never draws two of one group
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lms.quizzes.questions import LETTERS, QuestionData, QuestionType, validate_question

TRUE_WORDS = {"正确", "对", "true", "t", "yes"}
FALSE_WORDS = {"错误", "错", "false", "f", "no"}


class BankFileError(Exception):
    """The file is invalid; the message names the file, the question and the reason."""


@dataclass
class BankFile:
    bank: str
    questions: list[QuestionData]


def _answer(entry: dict, qtype: QuestionType, options: list[str]) -> tuple[list[int], list]:
    answer = entry.get("answer")
    if qtype is QuestionType.FILL_BLANK:
        if not isinstance(answer, list) or not all(isinstance(b, list) for b in answer):
            raise ValueError("answer: a list of lists of accepted answers is required")
        return [], [[str(a) for a in accepted] for accepted in answer]
    if qtype is QuestionType.TRUE_FALSE:
        word = str(answer).strip().lower()
        if word in TRUE_WORDS or answer is True:
            return [0], []
        if word in FALSE_WORDS or answer is False:
            return [1], []
        raise ValueError("answer: 正确 or 错误 is required")
    letters = str(answer or "").replace(",", "").replace(" ", "").upper()
    if not letters or any(ch not in LETTERS[: len(options)] for ch in letters):
        raise ValueError(f"answer: letters among {LETTERS[: len(options)]} are required")
    return sorted({LETTERS.index(ch) for ch in letters}), []


def read_bank_file(path: Path) -> BankFile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BankFileError(f"{path}: cannot be read: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise BankFileError(f"{path}: fields 'bank' and 'questions' (a list) are required")
    bank = str(data.get("bank") or "").strip()
    if not bank:
        raise BankFileError(f"{path}: field 'bank' is required")
    default_category = str(data.get("category") or "")
    questions: list[QuestionData] = []
    seen: set[str] = set()
    for index, entry in enumerate(data["questions"]):
        where = f"{path}: questions[{index}]"
        if not isinstance(entry, dict):
            raise BankFileError(f"{where}: a mapping is required")
        ref = str(entry.get("ref") or "").strip()
        if not ref:
            raise BankFileError(f"{where}: field 'ref' is required")
        if ref in seen:
            raise BankFileError(f"{where}: ref {ref} is used twice")
        seen.add(ref)
        try:
            kind: Any = entry.get("type")  # any YAML value; a wrong one raises ValueError
            qtype = QuestionType(kind)
            options = [str(o) for o in entry.get("options") or []]
            correct, blanks = _answer(entry, qtype, options)
            question = QuestionData(
                type=qtype,
                stem=str(entry.get("stem") or ""),
                options=options,
                correct=correct,
                blanks=blanks,
                explanation=str(entry.get("explanation") or ""),
                source=str(entry.get("source") or ""),
                difficulty=int(entry.get("difficulty", 2)),
                tags=[str(t) for t in entry.get("tags") or []],
                category=str(entry.get("category") or default_category),
                ref=ref,
                exclusive_group=str(entry.get("exclusive_group") or "").strip(),
            )
        except (TypeError, ValueError) as exc:
            raise BankFileError(f"{where} ({ref}): {exc}") from exc
        if not question.source:
            raise BankFileError(f"{where} ({ref}): field 'source' is required")
        if problems := validate_question(question):
            raise BankFileError(f"{where} ({ref}): {' '.join(problems)}")
        questions.append(question)
    return BankFile(bank=bank, questions=questions)
