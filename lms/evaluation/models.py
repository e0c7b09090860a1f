"""A trainee's ratings of each lesson they attended, and of the session as a whole."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.database import intpk, timestamp
from lms.extensions import Model
from lms.org.models import Member
from lms.sessions.models import Lesson, TrainingSession

MIN_SCORE, MAX_SCORE = 1, 5
COMMENT_LENGTH = 500  # the session comment
LESSON_COMMENT_LENGTH = 200  # the optional remark on one lesson


def _score_check(column: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(
        f"{column} BETWEEN {MIN_SCORE} AND {MAX_SCORE}", name=f"{column}_in_range"
    )


class LessonRating(Model):
    """One trainee's three 1–5 scores for one lesson: content, lecturer, usefulness."""

    __tablename__ = "lesson_ratings"

    id: Mapped[intpk]
    lesson_id: Mapped[int] = mapped_column(
        sa.ForeignKey("lessons.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    content: Mapped[int] = mapped_column(sa.SmallInteger)
    lecturer: Mapped[int] = mapped_column(sa.SmallInteger)
    usefulness: Mapped[int] = mapped_column(sa.SmallInteger)
    comment: Mapped[str] = mapped_column(sa.String(LESSON_COMMENT_LENGTH), default="")
    created_at: Mapped[timestamp]

    lesson: Mapped[Lesson] = relationship()
    member: Mapped[Member] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("member_id", "lesson_id"),
        _score_check("content"),
        _score_check("lecturer"),
        _score_check("usefulness"),
    )


class SessionEvaluation(Model):
    """One trainee's overall 1–5 score and comment for a session; saved with their lesson
    ratings in one transaction, so its presence means "this trainee has evaluated"."""

    __tablename__ = "session_evaluations"

    id: Mapped[intpk]
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    overall: Mapped[int] = mapped_column(sa.SmallInteger)
    comment: Mapped[str] = mapped_column(sa.String(COMMENT_LENGTH), default="")
    created_at: Mapped[timestamp]

    session: Mapped[TrainingSession] = relationship()
    member: Mapped[Member] = relationship()

    __table_args__ = (sa.UniqueConstraint("member_id", "session_id"), _score_check("overall"))
