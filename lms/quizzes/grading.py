"""Graders: one pure function per question type, `grade(key, response, partial) -> fraction`.

`key` is the question as the trainee saw it (a `QuestionData`); `response` is the saved answer:
`{"choices": [option indices]}` for choice questions, `{"blanks": [texts]}` for fill-in ones, or
None when unanswered. The fraction is between 0 and 1; points are the fraction of the item's points.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from lms.quizzes.questions import QuestionData, QuestionType, normalise_text

Grader = Callable[[QuestionData, dict | None, bool], Decimal]
GRADERS: dict[QuestionType, Grader] = {}
ZERO, ONE = Decimal(0), Decimal(1)


def grader(*types: QuestionType) -> Callable[[Grader], Grader]:
    def register(function: Grader) -> Grader:
        for qtype in types:
            GRADERS[qtype] = function
        return function

    return register


def _choices(response: dict | None) -> set[int]:
    return set((response or {}).get("choices") or [])


@grader(QuestionType.SINGLE, QuestionType.TRUE_FALSE)
def grade_single(key: QuestionData, response: dict | None, partial: bool) -> Decimal:
    return ONE if _choices(response) == set(key.correct) else ZERO


@grader(QuestionType.MULTIPLE)
def grade_multiple(key: QuestionData, response: dict | None, partial: bool) -> Decimal:
    """All or nothing; with partial credit, each right choice earns a share and each wrong one
    takes a share away, never below zero."""
    chosen, correct = _choices(response), set(key.correct)
    if chosen == correct:
        return ONE
    if not partial:
        return ZERO
    earned = len(chosen & correct) - len(chosen - correct)
    return max(ZERO, Decimal(earned) / len(correct)).quantize(Decimal("0.0001"))


def blank_is_right(accepted: list[str], given: str) -> bool:
    answer = normalise_text(given)
    return bool(answer) and any(normalise_text(a) == answer for a in accepted)


@grader(QuestionType.FILL_BLANK)
def grade_fill_blank(key: QuestionData, response: dict | None, partial: bool) -> Decimal:
    """Each blank is right when the answer matches one accepted answer after normalising
    (NFKC, spaces, case); all blanks right or nothing, or a share per blank with partial credit."""
    given = list((response or {}).get("blanks") or [])[: len(key.blanks)]
    given += [""] * (len(key.blanks) - len(given))
    right = sum(
        blank_is_right(accepted, text) for accepted, text in zip(key.blanks, given, strict=True)
    )
    if right == len(key.blanks):
        return ONE
    if not partial:
        return ZERO
    return (Decimal(right) / len(key.blanks)).quantize(Decimal("0.0001"))


def grade(key: QuestionData, response: dict | None, partial: bool = False) -> Decimal:
    return GRADERS[key.type](key, response, partial)
