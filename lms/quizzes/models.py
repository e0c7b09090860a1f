"""Question banks, versioned questions, quizzes, attempts and their answers, wrong-answer book."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User
from lms.catalog.models import Course
from lms.database import UTCDateTime, enum_column, intpk, timestamp, utcnow
from lms.enums import LabelledEnum
from lms.extensions import Model, db
from lms.org.models import Member
from lms.quizzes.questions import QuestionData, QuestionType
from lms.sessions.models import TrainingSession

bank_authors = sa.Table(
    "bank_authors",
    db.metadata,
    sa.Column("bank_id", sa.ForeignKey("question_banks.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), primary_key=True, index=True),
)


class QuestionBank(Model):
    """题库: questions grouped for authoring; lecturers author in the banks they are assigned."""

    __tablename__ = "question_banks"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[timestamp]

    authors: Mapped[list[User]] = relationship(secondary=bank_authors, order_by=User.username)
    categories: Mapped[list[QuestionCategory]] = relationship(
        back_populates="bank", cascade="all, delete-orphan", order_by="QuestionCategory.name"
    )


class QuestionCategory(Model):
    """A category within a bank; categories nest through `parent`."""

    __tablename__ = "question_categories"

    id: Mapped[intpk]
    bank_id: Mapped[int] = mapped_column(
        sa.ForeignKey("question_banks.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("question_categories.id"))
    name: Mapped[str] = mapped_column(sa.String(64))

    bank: Mapped[QuestionBank] = relationship(back_populates="categories")
    parent: Mapped[QuestionCategory | None] = relationship(remote_side="QuestionCategory.id")

    __table_args__ = (sa.UniqueConstraint("bank_id", "parent_id", "name"),)

    @property
    def path(self) -> str:
        names: list[str] = []
        node: QuestionCategory | None = self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return "/".join(reversed(names))


class Question(Model):
    """A question's identity. Its content lives in versions; attempts point at the version shown."""

    __tablename__ = "questions"

    id: Mapped[intpk]
    bank_id: Mapped[int] = mapped_column(sa.ForeignKey("question_banks.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("question_categories.id"), index=True
    )
    ref: Mapped[str | None] = mapped_column(sa.String(64))
    # Questions that give one another away share a key: an attempt never draws two of them.
    exclusive_group: Mapped[str | None] = mapped_column(sa.String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[timestamp]

    bank: Mapped[QuestionBank] = relationship()
    category: Mapped[QuestionCategory | None] = relationship()
    versions: Mapped[list[QuestionVersion]] = relationship(
        back_populates="question",
        order_by="QuestionVersion.number.desc()",
        cascade="all, delete-orphan",
    )

    __table_args__ = (sa.UniqueConstraint("bank_id", "ref"),)

    @property
    def current(self) -> QuestionVersion:
        return self.versions[0]

    @property
    def group_key(self) -> tuple[int, str] | None:
        """The exclusive group as the draws keep it: a group's name is the bank's own."""
        return (self.bank_id, self.exclusive_group) if self.exclusive_group else None


class QuestionVersion(Model):
    __tablename__ = "question_versions"

    id: Mapped[intpk]
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    type: Mapped[QuestionType] = mapped_column(enum_column(QuestionType, "question_type"))
    stem: Mapped[str] = mapped_column(sa.Text)
    options: Mapped[list] = mapped_column(sa.JSON, default=list)
    correct: Mapped[list] = mapped_column(sa.JSON, default=list)
    blanks: Mapped[list] = mapped_column(sa.JSON, default=list)
    explanation: Mapped[str] = mapped_column(sa.Text, default="")
    source: Mapped[str] = mapped_column(sa.String(255), default="")
    difficulty: Mapped[int] = mapped_column(default=2, index=True)
    tags: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[timestamp]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    question: Mapped[Question] = relationship(back_populates="versions")

    __table_args__ = (
        sa.UniqueConstraint("question_id", "number"),
        sa.CheckConstraint("difficulty BETWEEN 1 AND 3", name="difficulty_range"),
    )

    def data(
        self, category: str = "", ref: str = "", exclusive_group: str | None = None
    ) -> QuestionData:
        return QuestionData(
            type=self.type,
            stem=self.stem,
            options=list(self.options),
            correct=list(self.correct),
            blanks=[list(b) for b in self.blanks],
            explanation=self.explanation,
            source=self.source,
            difficulty=self.difficulty,
            tags=list(self.tags),
            category=category,
            ref=ref,
            exclusive_group=exclusive_group,
        )

    def same_content(self, q: QuestionData) -> bool:
        """The version's own content equals `q`'s; what belongs to the question is left aside."""
        aside = {"category": "", "ref": "", "exclusive_group": None}
        return self.data() == QuestionData(**{**q.__dict__, **aside})


class CountingRule(LabelledEnum):
    HIGHEST = "highest", _l("最高分")
    LAST = "last", _l("最后一次")


class Feedback(LabelledEnum):
    IMMEDIATE = "immediate", _l("交卷后立即")
    AFTER_CLOSE = "after_close", _l("测试关闭后")
    NEVER = "never", _l("不显示")


class QuizStatus(LabelledEnum):
    DRAFT = "draft", _l("草稿")
    PUBLISHED = "published", _l("已发布")
    ARCHIVED = "archived", _l("已归档")


class Quiz(Model):
    """测试: belongs to a session or a course; fixed questions and/or random draws."""

    __tablename__ = "quizzes"

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(sa.String(128))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("training_sessions.id"), index=True
    )
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id"), index=True)
    time_limit_minutes: Mapped[int | None]
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    max_attempts: Mapped[int] = mapped_column(default=1)  # 0 = unlimited
    pass_mark: Mapped[int] = mapped_column(default=80)  # percent
    counting: Mapped[CountingRule] = mapped_column(
        enum_column(CountingRule, "counting_rule"), default=CountingRule.HIGHEST
    )
    feedback: Mapped[Feedback] = mapped_column(
        enum_column(Feedback, "feedback"), default=Feedback.IMMEDIATE
    )
    practice: Mapped[bool] = mapped_column(default=False)
    shuffle_questions: Mapped[bool] = mapped_column(default=True)
    shuffle_options: Mapped[bool] = mapped_column(default=True)
    partial_credit: Mapped[bool] = mapped_column(default=False)
    status: Mapped[QuizStatus] = mapped_column(
        enum_column(QuizStatus, "quiz_status"), default=QuizStatus.DRAFT, index=True
    )
    created_at: Mapped[timestamp]
    # When the session's trainees were told the quiz is open (so they are told once).
    opening_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    session: Mapped[TrainingSession | None] = relationship()
    course: Mapped[Course | None] = relationship()
    items: Mapped[list[QuizItem]] = relationship(
        back_populates="quiz", cascade="all, delete-orphan", order_by="QuizItem.position"
    )
    draws: Mapped[list[QuizDraw]] = relationship(
        back_populates="quiz", cascade="all, delete-orphan", order_by="QuizDraw.id"
    )

    __table_args__ = (
        sa.CheckConstraint("pass_mark BETWEEN 0 AND 100", name="pass_mark_range"),
        sa.CheckConstraint(
            "NOT (session_id IS NOT NULL AND course_id IS NOT NULL)", name="one_home"
        ),
    )


class QuizItem(Model):
    """A fixed question of a quiz."""

    __tablename__ = "quiz_items"

    id: Mapped[intpk]
    quiz_id: Mapped[int] = mapped_column(
        sa.ForeignKey("quizzes.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id"), index=True)
    position: Mapped[int]
    points: Mapped[Decimal] = mapped_column(sa.Numeric(5, 1), default=Decimal(1))

    quiz: Mapped[Quiz] = relationship(back_populates="items")
    question: Mapped[Question] = relationship()

    __table_args__ = (sa.UniqueConstraint("quiz_id", "question_id"),)


class QuizDraw(Model):
    """Draw `count` questions at random from a category (and its subcategories) of a bank."""

    __tablename__ = "quiz_draws"

    id: Mapped[intpk]
    quiz_id: Mapped[int] = mapped_column(
        sa.ForeignKey("quizzes.id", ondelete="CASCADE"), index=True
    )
    bank_id: Mapped[int] = mapped_column(sa.ForeignKey("question_banks.id"))
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("question_categories.id"))
    difficulty: Mapped[int | None]
    count: Mapped[int]
    points: Mapped[Decimal] = mapped_column(sa.Numeric(5, 1), default=Decimal(1))

    quiz: Mapped[Quiz] = relationship(back_populates="draws")
    bank: Mapped[QuestionBank] = relationship()
    category: Mapped[QuestionCategory | None] = relationship()


class AttemptStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    TIMED_OUT = "timed_out"  # finished at the deadline from what was saved


class AttemptKind(enum.StrEnum):
    QUIZ = "quiz"
    WRONG_BOOK = "wrong_book"  # practice drawn from the member's wrong-answer book


class Attempt(Model):
    __tablename__ = "attempts"

    id: Mapped[intpk]
    quiz_id: Mapped[int | None] = mapped_column(sa.ForeignKey("quizzes.id"), index=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    kind: Mapped[AttemptKind] = mapped_column(
        enum_column(AttemptKind, "attempt_kind"), default=AttemptKind.QUIZ
    )
    number: Mapped[int] = mapped_column(default=1)
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    practice: Mapped[bool] = mapped_column(default=False)
    status: Mapped[AttemptStatus] = mapped_column(
        enum_column(AttemptStatus, "attempt_status"), default=AttemptStatus.IN_PROGRESS
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    score: Mapped[Decimal | None] = mapped_column(sa.Numeric(7, 2))
    max_score: Mapped[Decimal] = mapped_column(sa.Numeric(7, 2), default=Decimal(0))
    passed: Mapped[bool | None]

    quiz: Mapped[Quiz | None] = relationship()
    member: Mapped[Member] = relationship()
    questions: Mapped[list[AttemptQuestion]] = relationship(
        back_populates="attempt",
        cascade="all, delete-orphan",
        order_by="AttemptQuestion.position",
    )

    __table_args__ = (
        # One attempt in progress per member per quiz, enforced by the database.
        sa.Index(
            "uq_attempts_one_in_progress",
            "quiz_id",
            "member_id",
            unique=True,
            sqlite_where=sa.text("status = 'in_progress' AND quiz_id IS NOT NULL"),
            postgresql_where=sa.text("status = 'in_progress' AND quiz_id IS NOT NULL"),
        ),
    )

    @property
    def finished(self) -> bool:
        return self.status is not AttemptStatus.IN_PROGRESS

    @property
    def percent(self) -> Decimal | None:
        if self.score is None or not self.max_score:
            return None
        return (self.score * 100 / self.max_score).quantize(Decimal("0.1"))


class AttemptQuestion(Model):
    """One question as this attempt shows it, with the member's saved answer and its grade."""

    __tablename__ = "attempt_questions"

    id: Mapped[intpk]
    attempt_id: Mapped[int] = mapped_column(
        sa.ForeignKey("attempts.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("question_versions.id"), index=True)
    option_order: Mapped[list] = mapped_column(sa.JSON, default=list)
    points: Mapped[Decimal] = mapped_column(sa.Numeric(5, 1), default=Decimal(1))
    response: Mapped[dict | None] = mapped_column(sa.JSON)
    saved_seq: Mapped[int] = mapped_column(default=0)
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    awarded: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))
    graded_version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("question_versions.id"))

    attempt: Mapped[Attempt] = relationship(back_populates="questions")
    version: Mapped[QuestionVersion] = relationship(foreign_keys=[version_id])

    __table_args__ = (sa.UniqueConstraint("attempt_id", "position"),)

    @property
    def correct(self) -> bool | None:
        return None if self.awarded is None else self.awarded >= self.points


class WrongAnswer(Model):
    """错题本: a question the member got wrong, until they get it right in practice."""

    __tablename__ = "wrong_answers"

    id: Mapped[intpk]
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id"))
    times_wrong: Mapped[int] = mapped_column(default=1)
    last_wrong_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_attempt_question_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attempt_questions.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    question: Mapped[Question] = relationship()
    last_attempt_question: Mapped[AttemptQuestion | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("member_id", "question_id"),)
