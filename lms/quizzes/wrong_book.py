"""The wrong-answer book (错题本): each trainee's wrongly answered questions, reviewed as they
were seen and practised again."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from lms.database import utcnow
from lms.extensions import db
from lms.org.models import Member
from lms.quizzes.attempts import (
    AttemptRefused,
    add_attempt,
    lay_out_questions,
    review_allowed,
)
from lms.quizzes.models import (
    Attempt,
    AttemptKind,
    AttemptQuestion,
    Question,
    QuestionVersion,
    WrongAnswer,
)

WRONG_BOOK_PRACTICE_SIZE = 20


def wrong_book(member: Member) -> list[WrongAnswer]:
    return list(
        db.session.scalars(
            sa.select(WrongAnswer)
            .where(WrongAnswer.member_id == member.id, WrongAnswer.resolved_at.is_(None))
            .options(
                selectinload(WrongAnswer.question).selectinload(Question.versions),
                selectinload(WrongAnswer.last_attempt_question).options(
                    selectinload(AttemptQuestion.version),
                    selectinload(AttemptQuestion.attempt).selectinload(Attempt.quiz),
                ),
            )
            .order_by(WrongAnswer.last_wrong_at.desc())
        )
    )


@dataclass(frozen=True)
class WrongBookPage:
    """One wrong-book entry as the member reviews it: the question as they last saw it, their
    answer, and whether the key, explanation and source may be shown yet."""

    entry: WrongAnswer
    version: QuestionVersion
    order: list
    response: dict | None
    attempt: Attempt | None
    reveal: bool


def wrong_book_pages(member: Member, now: datetime | None = None) -> list[WrongBookPage]:
    pages = []
    for entry in wrong_book(member):
        seen = entry.last_attempt_question
        if seen is None:  # the attempt is gone: show today's version of the question
            version = entry.question.current
            pages.append(
                WrongBookPage(entry, version, list(range(len(version.options))), None, None, True)
            )
            continue
        pages.append(
            WrongBookPage(
                entry=entry,
                version=seen.version,
                order=list(seen.option_order),
                response=seen.response,
                attempt=seen.attempt,
                # A quiz that keeps its key until it closes (or for good) keeps it here too.
                reveal=review_allowed(seen.attempt, now),
            )
        )
    return pages


def start_wrong_book_practice(member: Member, now: datetime | None = None) -> Attempt:
    now = now or utcnow()
    entries = [e for e in wrong_book(member) if e.question.active][:WRONG_BOOK_PRACTICE_SIZE]
    if not entries:
        raise AttemptRefused(_("错题本是空的，没有可练习的题目。"), 409)
    seed = secrets.randbits(48)
    rng = random.Random(seed)
    attempt = Attempt(
        quiz=None,
        member=member,
        kind=AttemptKind.WRONG_BOOK,
        seed=seed,
        practice=True,
        started_at=now,
    )
    versions = [(e.question.current, Decimal(1)) for e in entries]
    add_attempt(
        attempt, lay_out_questions(versions, rng, shuffle_questions=True, shuffle_options=True)
    )
    return attempt
