"""`lms.access`: scoped loads find an object only under the parent it belongs to."""

from __future__ import annotations

import pytest

from lms.access import belongs_to
from lms.auth.access import is_admin, is_organizer
from lms.auth.models import Role
from lms.quizzes.models import QuizDraw
from tests.factories import make_course, make_quiz, make_user


def test_an_object_belongs_to_the_parent_its_foreign_key_names(app):
    quiz, other = make_quiz(), make_quiz()
    item = quiz.items[0]
    assert belongs_to(item, quiz)
    assert not belongs_to(item, other)
    draw = QuizDraw(quiz_id=other.id, bank_id=item.question.bank_id, count=1)
    assert belongs_to(draw, other) and not belongs_to(draw, quiz)


def test_a_parent_it_has_no_key_to_is_a_mistake_in_the_code(app):
    quiz = make_quiz()
    with pytest.raises(TypeError):
        belongs_to(quiz.items[0], make_course())


def test_role_predicates_ignore_the_object(app):
    organizer, admin = make_user(roles={Role.ORGANIZER}), make_user(roles={Role.ADMIN})
    assert is_organizer(organizer) and is_organizer(organizer, object())
    assert not is_organizer(admin, object())
    assert is_admin(admin, object()) and not is_admin(organizer)
