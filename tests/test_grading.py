"""Graders are pure functions: one per question type, with normalised fill-in answers."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lms.quizzes.grading import GRADERS, grade
from lms.quizzes.questions import QuestionData, QuestionType, normalise_text

SINGLE = QuestionData(QuestionType.SINGLE, "题", ["甲", "乙", "丙"], [1])
MULTIPLE = QuestionData(QuestionType.MULTIPLE, "题", ["甲", "乙", "丙", "丁"], [0, 2])
TRUE = QuestionData(QuestionType.TRUE_FALSE, "题", [], [0])
BLANKS = QuestionData(
    QuestionType.FILL_BLANK,
    "____ 和 ____",
    blanks=[["中国共产党", "中共"], ["Marxism", "马克思主义"]],
)


def test_every_type_has_a_grader():
    assert set(GRADERS) == set(QuestionType)


@pytest.mark.parametrize(
    ("key", "response", "expected"),
    [
        (SINGLE, {"choices": [1]}, 1),
        (SINGLE, {"choices": [0]}, 0),
        (SINGLE, None, 0),
        (TRUE, {"choices": [0]}, 1),
        (TRUE, {"choices": [1]}, 0),
        (MULTIPLE, {"choices": [0, 2]}, 1),
        (MULTIPLE, {"choices": [0]}, 0),
        (MULTIPLE, {"choices": [0, 1, 2]}, 0),
        (MULTIPLE, {"choices": []}, 0),
    ],
)
def test_choice_graders_are_all_or_nothing_by_default(key, response, expected):
    assert grade(key, response) == Decimal(expected)


@pytest.mark.parametrize(
    ("choices", "expected"),
    [([0, 2], "1"), ([0], "0.5"), ([0, 1], "0"), ([0, 1, 2], "0.5"), ([1, 3], "0"), ([], "0")],
)
def test_partial_credit_for_multiple_choice(choices, expected):
    assert grade(MULTIPLE, {"choices": choices}, partial=True) == Decimal(expected)


@pytest.mark.parametrize(
    "given_blanks",
    [
        ["中国共产党", "Marxism"],
        ["  中国共产党 ", "marxism"],
        ["中共", "MARXISM"],
        ["中国共产党", "ＭＡＲＸＩＳＭ"],  # full-width letters fold to half-width
        ["中国共产党", "马克思主义"],
    ],
)
def test_fill_in_answers_are_normalised(given_blanks):
    assert grade(BLANKS, {"blanks": given_blanks}) == 1


def test_fill_in_spaces_collapse_but_do_not_vanish():
    key = QuestionData(QuestionType.FILL_BLANK, "____", blanks=[["安全 第一"]])
    assert grade(key, {"blanks": ["安全\u3000  第一"]}) == 1  # ideographic space is a space
    assert grade(key, {"blanks": ["安全第一"]}) == 0


def test_fill_in_partial_credit_per_blank():
    response = {"blanks": ["中共", "wrong"]}
    assert grade(BLANKS, response) == 0
    assert grade(BLANKS, response, partial=True) == Decimal("0.5")


def test_fill_in_missing_or_extra_blanks_do_not_crash():
    assert grade(BLANKS, {"blanks": ["中共"]}) == 0
    assert grade(BLANKS, {"blanks": ["中共", "马克思主义", "extra"]}) == 1
    assert grade(BLANKS, None) == 0


def test_an_empty_answer_never_matches():
    key = QuestionData(QuestionType.FILL_BLANK, "____", blanks=[[" "]])
    assert grade(key, {"blanks": [""]}) == 0


@given(st.text(max_size=40))
def test_normalising_is_idempotent(text):
    once = normalise_text(text)
    assert normalise_text(once) == once
    assert once == once.strip()
    assert "  " not in once
