"""Who may author banks and questions, see and take quizzes, and see attempts."""

from __future__ import annotations

from flask_babel import gettext as _

from lms.access import is_organizer
from lms.auth.models import User
from lms.quizzes.models import Attempt, Question, QuestionBank, Quiz, QuizStatus
from lms.sessions.services import enrolled_session_ids


def can_author_bank(user: User, bank: QuestionBank) -> bool:
    return is_organizer(user) or user in bank.authors


def can_author_question(user: User, question: Question) -> bool:
    return can_author_bank(user, question.bank)


def can_view_quiz(user: User, quiz: Quiz, enrolled: set[int] | None = None) -> bool:
    """A session's quiz is for the members in the session (`enrolled_session_ids`);
    `enrolled` (those session ids) may be given when checking many quizzes."""
    if is_organizer(user):
        return True
    if quiz.status is not QuizStatus.PUBLISHED or user.member is None:
        return False
    if quiz.session_id is not None:
        if enrolled is None:
            enrolled = enrolled_session_ids(user.member)
        return quiz.session_id in enrolled
    return True


def why_quiz_refused(user: User, quiz: Quiz) -> str | None:
    """The reason to show a member refused a published session quiz: they are not in it."""
    if quiz.session_id is not None and quiz.status is QuizStatus.PUBLISHED and user.member:
        return _("您未参加本期培训，不能参加此测试。")
    return None


def owns_attempt(user: User, attempt: Attempt) -> bool:
    return user.member_id is not None and attempt.member_id == user.member_id


def can_view_attempt(user: User, attempt: Attempt) -> bool:
    return owns_attempt(user, attempt) or is_organizer(user)
