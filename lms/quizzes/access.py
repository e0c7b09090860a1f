"""Who may author banks and questions, see and take quizzes, and see attempts."""

from __future__ import annotations

from collections.abc import Callable

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

    def in_session() -> bool:
        ids = enrolled if enrolled is not None else enrolled_session_ids(user.member)
        return quiz.session_id in ids

    return quiz_open_to(
        quiz,
        organizer=is_organizer(user),
        has_member=user.member is not None,
        in_session=in_session,
    )


def quiz_open_to(
    quiz: Quiz, *, organizer: bool, has_member: bool, in_session: Callable[[], bool]
) -> bool:
    """The rule of `can_view_quiz` on what is known of the user: an organizer's, with a member
    or not, and `in_session()`, whether that member is in the quiz's session (asked only of a
    session's quiz); for a start that reads these in its own SQL."""
    if organizer:
        return True
    if quiz.status is not QuizStatus.PUBLISHED or not has_member:
        return False
    return quiz.session_id is None or in_session()


def why_quiz_refused(user: User, quiz: Quiz) -> str | None:
    """The reason to show a member refused a published session quiz: they are not in it."""
    return why_quiz_is_closed_to(quiz, has_member=user.member is not None)


def why_quiz_is_closed_to(quiz: Quiz, *, has_member: bool) -> str | None:
    """`why_quiz_refused` for someone with a member or not."""
    if quiz.session_id is not None and quiz.status is QuizStatus.PUBLISHED and has_member:
        return _("您未参加本期培训，不能参加此测试。")
    return None


def owns_attempt(user: User, attempt: Attempt) -> bool:
    return user.member_id is not None and attempt.member_id == user.member_id


def can_view_attempt(user: User, attempt: Attempt) -> bool:
    return owns_attempt(user, attempt) or is_organizer(user)
