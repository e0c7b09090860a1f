"""Question banks and quizzes: who authors what, saving versioned questions, importing, quizzes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Literal, overload

import sqlalchemy as sa
from sqlalchemy.orm import aliased, selectinload

from lms.audit.services import record_audit
from lms.auth.models import Role, User
from lms.clock import from_local, to_local
from lms.database import utcnow
from lms.extensions import db
from lms.notifications.services import notify_members
from lms.quizzes.models import (
    AttemptQuestion,
    CountingRule,
    Feedback,
    Question,
    QuestionBank,
    QuestionCategory,
    QuestionVersion,
    Quiz,
    QuizDraw,
    QuizItem,
    QuizStatus,
)
from lms.quizzes.questions import QuestionData, category_parts
from lms.sessions.models import Enrollment

# --- access ----------------------------------------------------------------------------------


def manages_quizzes(user: User) -> bool:
    return user.has_role(Role.ORGANIZER)


def can_author_bank(user: User, bank: QuestionBank) -> bool:
    return manages_quizzes(user) or user in bank.authors


def can_author_question(user: User, question: Question) -> bool:
    return can_author_bank(user, question.bank)


def banks_for(user: User) -> list[QuestionBank]:
    stmt = sa.select(QuestionBank).order_by(QuestionBank.name)
    if not manages_quizzes(user):
        stmt = stmt.where(QuestionBank.authors.any(User.id == user.id))
    return list(db.session.scalars(stmt))


# --- banks and categories --------------------------------------------------------------------


@overload
def bank_by_name(name: str, create: Literal[True]) -> QuestionBank: ...
@overload
def bank_by_name(name: str, create: bool = False) -> QuestionBank | None: ...
def bank_by_name(name: str, create: bool = False) -> QuestionBank | None:
    bank = db.session.scalar(sa.select(QuestionBank).where(QuestionBank.name == name))
    if bank is None and create:
        bank = QuestionBank(name=name)
        db.session.add(bank)
        db.session.flush()
        record_audit("bank.created", "bank", bank.id, {"name": name})
    return bank


def create_bank(name: str, description: str, author_ids: list[int]) -> QuestionBank:
    bank = bank_by_name(name, create=True)
    update_bank(bank, name, description, author_ids)
    return bank


def update_bank(bank: QuestionBank, name: str, description: str, author_ids: list[int]) -> None:
    before = sorted(u.id for u in bank.authors)
    bank.name = name
    bank.description = description
    bank.authors = (
        list(db.session.scalars(sa.select(User).where(User.id.in_(author_ids))))
        if author_ids
        else []
    )
    db.session.flush()
    if before != sorted(author_ids):
        record_audit("bank.authors", "bank", bank.id, {"authors": [before, sorted(author_ids)]})


def category_by_path(bank: QuestionBank, path: str) -> QuestionCategory | None:
    """The category at `path` ("a/b/c"), created with its parents when missing; None for ""."""
    parent: QuestionCategory | None = None
    for name in category_parts(path):
        same_parent = (
            QuestionCategory.parent_id == parent.id
            if parent is not None
            else QuestionCategory.parent_id.is_(None)
        )
        found = db.session.scalar(
            sa.select(QuestionCategory).where(
                QuestionCategory.bank_id == bank.id, same_parent, QuestionCategory.name == name
            )
        )
        if found is None:
            found = QuestionCategory(bank=bank, parent=parent, name=name)
            db.session.add(found)
            db.session.flush()
        parent = found
    return parent


def categories_of(bank: QuestionBank) -> list[QuestionCategory]:
    categories = list(
        db.session.scalars(
            sa.select(QuestionCategory)
            .where(QuestionCategory.bank_id == bank.id)
            .options(selectinload(QuestionCategory.parent))
        )
    )
    return sorted(categories, key=lambda c: c.path)


def category_subtree_ids(category: QuestionCategory) -> set[int]:
    everything = categories_of(category.bank)
    ids = {category.id}
    grew = True
    while grew:
        more = {c.id for c in everything if c.parent_id in ids} - ids
        ids |= more
        grew = bool(more)
    return ids


def questions_of(bank: QuestionBank, category: QuestionCategory | None = None) -> sa.Select:
    stmt = (
        sa.select(Question)
        .where(Question.bank_id == bank.id, Question.active.is_(True))
        .options(selectinload(Question.versions), selectinload(Question.category))
        .order_by(Question.ref, Question.id)
    )
    if category is not None:
        stmt = stmt.where(Question.category_id.in_(category_subtree_ids(category)))
    return stmt


# --- questions -------------------------------------------------------------------------------


def version_in_use(version: QuestionVersion) -> bool:
    stmt = sa.select(AttemptQuestion.id).where(AttemptQuestion.version_id == version.id).limit(1)
    return db.session.scalar(stmt) is not None


def _fill_version(version: QuestionVersion, q: QuestionData) -> None:
    version.type = q.type
    version.stem = q.stem
    version.options = list(q.options)
    version.correct = sorted(set(q.correct))
    version.blanks = [list(b) for b in q.blanks]
    version.explanation = q.explanation
    version.source = q.source
    version.difficulty = q.difficulty
    version.tags = list(q.tags)


def save_question(
    bank: QuestionBank, q: QuestionData, user: User | None, question: Question | None = None
) -> tuple[Question, str]:
    """Create or change a question. A version that attempts have used is never changed: the
    change becomes a new version. Returns the question and "created", "updated" or "unchanged"."""
    category = category_by_path(bank, q.category)
    if question is None:
        question = Question(bank=bank, category=category, ref=q.ref or None)
        question.exclusive_group = q.exclusive_group or None
        version = QuestionVersion(number=1, created_by_id=user.id if user else None)
        _fill_version(version, q)
        question.versions = [version]
        db.session.add(question)
        db.session.flush()
        record_audit("question.created", "question", question.id, {"ref": q.ref})
        return question, "created"
    outcome = "unchanged"
    if question.category_id != (category.id if category else None) or (
        q.ref and question.ref != q.ref
    ):
        question.category = category
        question.ref = q.ref or question.ref
        outcome = "updated"
    if q.exclusive_group is not None and question.exclusive_group != (q.exclusive_group or None):
        question.exclusive_group = q.exclusive_group or None
        outcome = "updated"
    current = question.current
    q_normalised = QuestionData(**{**q.__dict__, "correct": sorted(set(q.correct))})
    if not current.same_content(q_normalised):
        outcome = "updated"
        if version_in_use(current):
            version = QuestionVersion(
                number=current.number + 1, created_by_id=user.id if user else None
            )
            _fill_version(version, q)
            question.versions.insert(0, version)
            record_audit(
                "question.versioned",
                "question",
                question.id,
                {"number": version.number, "key_changed": _key_changed(current, q)},
            )
        else:
            _fill_version(current, q)
            record_audit("question.updated", "question", question.id, {"number": current.number})
    db.session.flush()
    return question, outcome


def _key_changed(version: QuestionVersion, q: QuestionData) -> bool:
    return sorted(version.correct) != sorted(set(q.correct)) or version.blanks != q.blanks


def archive_question(question: Question) -> None:
    question.active = False
    record_audit("question.archived", "question", question.id, {"ref": question.ref})
    db.session.flush()


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _existing_match(bank: QuestionBank, q: QuestionData) -> Question | None:
    """Re-importing must not duplicate: match on the author's ref, else on type and stem."""
    if q.ref:
        return db.session.scalar(
            sa.select(Question).where(Question.bank_id == bank.id, Question.ref == q.ref)
        )
    return db.session.scalar(
        sa.select(Question)
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .where(
            Question.bank_id == bank.id,
            QuestionVersion.type == q.type,
            QuestionVersion.stem == q.stem,
        )
        .limit(1)
    )


def import_questions(bank: QuestionBank, questions: list[QuestionData], user: User | None):
    summary = ImportSummary()
    for q in questions:
        _question, outcome = save_question(bank, q, user, _existing_match(bank, q))
        setattr(summary, outcome, getattr(summary, outcome) + 1)
    record_audit("bank.imported", "bank", bank.id, summary.__dict__)
    return summary


def export_questions(bank: QuestionBank) -> list[QuestionData]:
    return [
        question.current.data(
            category=question.category.path if question.category else "",
            ref=question.ref or "",
            exclusive_group=question.exclusive_group or "",
        )
        for question in db.session.scalars(questions_of(bank))
    ]


# --- quizzes ---------------------------------------------------------------------------------


@dataclass
class QuizData:
    title: str
    description: str = ""
    session_id: int | None = None
    course_id: int | None = None
    time_limit_minutes: int | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    max_attempts: int = 1
    pass_mark: int = 80
    counting: CountingRule = CountingRule.HIGHEST
    feedback: Feedback = Feedback.IMMEDIATE
    practice: bool = False
    shuffle_questions: bool = True
    shuffle_options: bool = True
    partial_credit: bool = False


def _apply_quiz(quiz: Quiz, data: QuizData) -> None:
    for name in QuizData.__dataclass_fields__:
        setattr(quiz, name, getattr(data, name))


def create_quiz(data: QuizData) -> Quiz:
    quiz = Quiz(status=QuizStatus.DRAFT)
    _apply_quiz(quiz, data)
    db.session.add(quiz)
    db.session.flush()
    record_audit("quiz.created", "quiz", quiz.id, {"title": quiz.title})
    return quiz


def update_quiz(quiz: Quiz, data: QuizData) -> None:
    _apply_quiz(quiz, data)
    db.session.flush()
    record_audit("quiz.updated", "quiz", quiz.id, {"title": quiz.title})


def set_quiz_status(quiz: Quiz, status: QuizStatus) -> None:
    if quiz.status is not status:
        record_audit("quiz.status", "quiz", quiz.id, {"status": [quiz.status, status]})
        quiz.status = status
        db.session.flush()
    if status is QuizStatus.PUBLISHED:
        notify_quiz_opening(quiz)


def _end_of_day(moment: datetime) -> datetime:
    """Midnight after `moment`, in the plant's zone."""
    return from_local(to_local(moment).date() + timedelta(days=1), time(0))


def notify_quiz_opening(quiz: Quiz, now: datetime | None = None) -> int:
    """Tell the trainees of the quiz's session that it opens — once, and only once it is
    published and its window opens today or has opened (and not yet closed)."""
    now = now or utcnow()
    if (
        quiz.opening_notified_at is not None
        or quiz.status is not QuizStatus.PUBLISHED
        or quiz.session is None
        or (quiz.closes_at is not None and quiz.closes_at <= now)
        or (quiz.opens_at is not None and quiz.opens_at >= _end_of_day(now))
    ):
        return 0
    members = db.session.scalars(
        sa.select(Enrollment.member_id).where(
            Enrollment.session_id == quiz.session_id, Enrollment.in_session
        )
    ).all()
    told = notify_members(
        members,
        "quiz_opened",
        session=quiz.session.title,
        quiz=quiz.title,
        quiz_id=quiz.id,
        opens=to_local(quiz.opens_at or now).strftime("%Y-%m-%d %H:%M"),
    )
    quiz.opening_notified_at = now
    db.session.flush()
    return told


def notify_quizzes_opening(now: datetime | None = None) -> int:
    """The daily pass: published session quizzes whose window opens today, not yet announced."""
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(Quiz)
        .where(
            Quiz.status == QuizStatus.PUBLISHED,
            Quiz.session_id.is_not(None),
            Quiz.opening_notified_at.is_(None),
            sa.or_(Quiz.opens_at.is_(None), Quiz.opens_at < _end_of_day(now)),
            sa.or_(Quiz.closes_at.is_(None), Quiz.closes_at > now),
        )
        .order_by(Quiz.id)
    ).all()
    return sum(notify_quiz_opening(quiz, now) for quiz in due)


def add_quiz_item(quiz: Quiz, question: Question, points: Decimal) -> QuizItem:
    item = db.session.scalar(
        sa.select(QuizItem).where(QuizItem.quiz_id == quiz.id, QuizItem.question_id == question.id)
    )
    if item is None:
        position = max((i.position for i in quiz.items), default=0) + 1
        item = QuizItem(quiz=quiz, question=question, position=position, points=points)
        db.session.add(item)
    else:
        item.points = points
    db.session.flush()
    return item


def add_quiz_draw(
    quiz: Quiz,
    bank: QuestionBank,
    category: QuestionCategory | None,
    difficulty: int | None,
    count: int,
    points: Decimal,
) -> QuizDraw:
    draw = QuizDraw(
        quiz=quiz,
        bank=bank,
        category=category,
        difficulty=difficulty,
        count=count,
        points=points,
    )
    db.session.add(draw)
    db.session.flush()
    return draw


def draw_pool(draw: QuizDraw) -> list[Question]:
    """The active questions a random draw chooses from."""
    stmt = sa.select(Question).where(Question.bank_id == draw.bank_id, Question.active.is_(True))
    if draw.category is not None:
        stmt = stmt.where(Question.category_id.in_(category_subtree_ids(draw.category)))
    if draw.difficulty is not None:
        newer = aliased(QuestionVersion)
        current = (
            sa.select(sa.func.max(newer.number))
            .where(newer.question_id == Question.id)
            .correlate(Question)
            .scalar_subquery()
        )
        stmt = stmt.join(
            QuestionVersion,
            sa.and_(QuestionVersion.question_id == Question.id, QuestionVersion.number == current),
        ).where(QuestionVersion.difficulty == draw.difficulty)
    return list(db.session.scalars(stmt.order_by(Question.id)))


def draw_supplies(quiz: Quiz) -> dict[int, int]:
    """How many questions each draw can supply: none that is fixed in the quiz or shares a
    fixed question's exclusive group, and one question at most from each group."""
    fixed = [item.question for item in quiz.items if item.question.active]
    fixed_ids = {question.id for question in fixed}
    fixed_groups = {question.group_key for question in fixed if question.group_key}
    supplies = {}
    for draw in quiz.draws:
        pool = [
            q for q in draw_pool(draw) if q.id not in fixed_ids and q.group_key not in fixed_groups
        ]
        groups = {q.group_key for q in pool if q.group_key}
        ungrouped = sum(1 for q in pool if not q.group_key)
        supplies[draw.id] = min(draw.count, ungrouped + len(groups))
    return supplies


def quiz_question_count(quiz: Quiz) -> int:
    return len(quiz.items) + sum(draw_supplies(quiz).values())
