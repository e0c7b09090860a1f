"""Taking a quiz: start or resume, autosave, finish once, grade (noting wrong answers in the
wrong-answer book), the deadline sweeper and review.

The server owns the clock: it fixes the deadline at the start and refuses answers after it. An
attempt is finished by one conditional UPDATE (in progress → finished), so a double click, two
tabs or a retried request grade it once. An autosave holds a shared lock on its attempt, so a
submit waits for saves already under way and grades what they saved.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload, selectinload

from lms.audit.services import record_audit
from lms.auth.models import User
from lms.auth.services import SessionAccount
from lms.database import utcnow
from lms.extensions import db
from lms.org.models import Member
from lms.quizzes.grading import grade
from lms.quizzes.models import (
    Attempt,
    AttemptKind,
    AttemptQuestion,
    AttemptStatus,
    CountingRule,
    Feedback,
    Question,
    QuestionVersion,
    Quiz,
    QuizItem,
    QuizStatus,
    WrongAnswer,
)
from lms.quizzes.questions import CHOICE_TYPES, QuestionType
from lms.quizzes.services import draw_pool

MAX_BLANK_LENGTH = 200


class AttemptRefused(Exception):
    """The request cannot be honoured; `message` says why in the user's language."""

    def __init__(self, message: str, status: int = 400, access: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.access = access  # not the caller's attempt at all: answer like any other page


# --- access ----------------------------------------------------------------------------------


# --- starting --------------------------------------------------------------------------------


def in_progress_attempt(quiz: Quiz, member: Member) -> Attempt | None:
    return db.session.scalar(
        sa.select(Attempt).where(
            Attempt.quiz_id == quiz.id,
            Attempt.member_id == member.id,
            Attempt.status == AttemptStatus.IN_PROGRESS,
        )
    )


def attempts_of(quiz: Quiz, member: Member) -> list[Attempt]:
    return list(
        db.session.scalars(
            sa.select(Attempt)
            .where(Attempt.quiz_id == quiz.id, Attempt.member_id == member.id)
            .order_by(Attempt.number)
        )
    )


def window_problem(quiz: Quiz, now: datetime) -> str | None:
    if quiz.status is not QuizStatus.PUBLISHED:
        return _("该测试尚未发布。")
    if quiz.opens_at is not None and now < quiz.opens_at:
        return _("该测试尚未开始。")
    if quiz.closes_at is not None and now >= quiz.closes_at:
        return _("该测试已经结束。")
    return None


def deadline_for(quiz: Quiz, started: datetime) -> datetime | None:
    limits = []
    if quiz.time_limit_minutes:
        limits.append(started + timedelta(minutes=quiz.time_limit_minutes))
    if quiz.closes_at is not None:
        limits.append(quiz.closes_at)
    return min(limits) if limits else None


def _choose_versions(quiz: Quiz, rng: random.Random) -> list[tuple[QuestionVersion, Decimal]]:
    chosen: list[tuple[QuestionVersion, Decimal]] = []
    taken: set[int] = set()
    groups: set[tuple[int, str]] = set()
    # The fixed items' active questions in their current versions, in one statement.
    latest = aliased(QuestionVersion)
    current = (
        sa.select(sa.func.max(latest.number))
        .where(latest.question_id == Question.id)
        .scalar_subquery()
    )
    items = db.session.execute(
        sa.select(QuestionVersion, QuizItem.points, Question)
        .select_from(QuizItem)
        .join(Question, Question.id == QuizItem.question_id)
        .join(
            QuestionVersion,
            sa.and_(QuestionVersion.question_id == Question.id, QuestionVersion.number == current),
        )
        .where(QuizItem.quiz_id == quiz.id, Question.active.is_(True))
        .order_by(QuizItem.position)
    ).all()
    for version, points, question in items:
        chosen.append((version, points))
        taken.add(question.id)
        if question.group_key:
            groups.add(question.group_key)
    for draw in quiz.draws:
        pool = [q for q in draw_pool(draw) if q.id not in taken]
        drawn = 0
        # The pool in the seed's order; a question whose group the attempt already holds would
        # give an answer away (or be given away), so it is passed over for the next one.
        for question in rng.sample(pool, len(pool)):
            if drawn == draw.count:
                break
            if question.group_key in groups:
                continue
            chosen.append((question.current, draw.points))
            taken.add(question.id)
            if question.group_key:
                groups.add(question.group_key)
            drawn += 1
    return chosen


def lay_out_questions(
    versions: list[tuple[QuestionVersion, Decimal]],
    rng: random.Random,
    shuffle_questions: bool,
    shuffle_options: bool,
) -> list[dict]:
    """Fix the order of questions and options for an attempt, from its seed: each position's
    row of `attempt_questions` (without the attempt's id)."""
    if shuffle_questions:
        rng.shuffle(versions)
    layout = []
    for position, (version, points) in enumerate(versions, start=1):
        order = list(range(len(version.options)))
        if shuffle_options and version.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
            rng.shuffle(order)
        layout.append(
            {
                "position": position,
                "version_id": version.id,
                "option_order": order,
                "points": points,
            }
        )
    return layout


def add_attempt(attempt: Attempt, layout: list[dict]) -> None:
    """Store a new attempt with its questions. The questions need nothing back from the
    database, so they go in one INSERT for them all (an attempt starts in a busy minute)."""
    attempt.max_score = sum((row["points"] for row in layout), Decimal(0))
    db.session.add(attempt)
    db.session.flush()
    db.session.execute(
        sa.insert(AttemptQuestion), [{**row, "attempt_id": attempt.id} for row in layout]
    )


def start_attempt(quiz: Quiz, member: Member, now: datetime | None = None) -> Attempt:
    """Resume the member's attempt in progress, or start a new one if the quiz allows it."""
    now = now or utcnow()
    finish_overdue_attempts(now, member=member)
    previous = attempts_of(quiz, member)
    if current := [a for a in previous if a.status is AttemptStatus.IN_PROGRESS]:
        return current[0]
    if problem := window_problem(quiz, now):
        raise AttemptRefused(problem, 409)
    if quiz.max_attempts and not quiz.practice and len(previous) >= quiz.max_attempts:
        raise AttemptRefused(_("您已用完本测试的 %(n)d 次作答机会。", n=quiz.max_attempts), 409)
    seed = secrets.randbits(48)
    rng = random.Random(seed)
    versions = _choose_versions(quiz, rng)
    if not versions:
        raise AttemptRefused(_("该测试还没有题目。"), 409)
    attempt = Attempt(
        quiz=quiz,
        member=member,
        number=len(previous) + 1,
        seed=seed,
        practice=quiz.practice,
        started_at=now,
        deadline=deadline_for(quiz, now),
    )
    layout = lay_out_questions(versions, rng, quiz.shuffle_questions, quiz.shuffle_options)
    try:
        with db.session.begin_nested():
            add_attempt(attempt, layout)
    except IntegrityError:
        # Another tab started one a moment ago: that is the attempt in progress.
        existing = in_progress_attempt(quiz, member)
        if existing is None:
            raise
        return existing
    return attempt


# --- answering -------------------------------------------------------------------------------


def _clean_response(version, response: object) -> dict | None:
    """Check a submitted answer against the question (anything with the version's `type`,
    `options` and `blanks`); None clears it."""
    if response is None:
        return None
    if not isinstance(response, dict):
        raise AttemptRefused(_("答案的格式不正确。"))
    if version.type in CHOICE_TYPES:
        choices = response.get("choices")
        if not isinstance(choices, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in choices
        ):
            raise AttemptRefused(_("答案的格式不正确。"))
        count = 2 if version.type is QuestionType.TRUE_FALSE else len(version.options)
        if any(not 0 <= c < count for c in choices) or len(set(choices)) != len(choices):
            raise AttemptRefused(_("所选的选项不存在。"))
        if version.type is not QuestionType.MULTIPLE and len(choices) > 1:
            raise AttemptRefused(_("这道题只能选一个答案。"))
        return {"choices": sorted(choices)} if choices else None
    blanks = response.get("blanks")
    if not isinstance(blanks, list) or not all(isinstance(b, str) for b in blanks):
        raise AttemptRefused(_("答案的格式不正确。"))
    if len(blanks) != len(version.blanks):
        raise AttemptRefused(_("填空的数量与题目不符。"))
    if any(len(b) > MAX_BLANK_LENGTH or "\x00" in b for b in blanks):
        raise AttemptRefused(_("填写的内容太长或含有无效字符。"))
    return {"blanks": blanks} if any(b.strip() for b in blanks) else None


def _load_to_save(account: bool) -> sa.Select:
    """The attempt, locked, with the question at :position (no row of its own when there is
    none), and with `account` the session's account (`SessionAccount.columns`, user :user_id)."""
    stmt = (
        sa.select(
            Attempt.member_id,
            Attempt.status,
            Attempt.deadline,
            AttemptQuestion.id.label("item_id"),
            AttemptQuestion.saved_seq,
            AttemptQuestion.saved_at,
            QuestionVersion.type,
            QuestionVersion.options,
            QuestionVersion.blanks,
        )
        .outerjoin(
            AttemptQuestion,
            sa.and_(
                AttemptQuestion.attempt_id == Attempt.id,
                AttemptQuestion.position == sa.bindparam("position"),
            ),
        )
        .outerjoin(QuestionVersion, QuestionVersion.id == AttemptQuestion.version_id)
        .where(Attempt.id == sa.bindparam("attempt_id"))
        # Shared lock on the attempt alone: a submit (which updates this row) waits for saves
        # under way, and a save arriving after a submit sees the attempt finished.
        .with_for_update(read=True, of=Attempt)
    )
    if account:
        stmt = stmt.add_columns(*SessionAccount.columns()).outerjoin(
            User, User.id == sa.bindparam("user_id")
        )
    return stmt


# Built once: an autosave only binds its values.
_LOAD_TO_SAVE = _load_to_save(account=False)
_LOAD_TO_SAVE_WITH_ACCOUNT = _load_to_save(account=True)
_WRITE_ANSWER = (
    sa.update(AttemptQuestion)
    .where(
        AttemptQuestion.id == sa.bindparam("item_id"),
        AttemptQuestion.saved_seq < sa.bindparam("seq"),
    )
    .values(
        response=sa.bindparam("answer", type_=AttemptQuestion.response.type),
        saved_seq=sa.bindparam("seq"),
        saved_at=sa.bindparam("now", type_=AttemptQuestion.saved_at.type),
    )
    .returning(AttemptQuestion.saved_seq, AttemptQuestion.saved_at)
)


@dataclass
class SaveResult:
    position: int
    seq: int
    saved_at: datetime | None
    applied: bool  # False when a newer save for this question had already arrived


def save_answer(
    attempt: Attempt | int,
    position: object,
    response: object,
    seq: int | None = None,
    now: datetime | None = None,
    *,
    member_id: int | None = None,
    account: SessionAccount | None = None,
) -> SaveResult:
    """Save one answer, in two statements (this is the busiest request of a quiz): one loads,
    checks and locks the attempt with the question at `position` (and the account, when given),
    the other writes the answer.

    `seq` orders the saves of one question: an older one arriving late is acknowledged but does
    not overwrite a newer one. With `member_id`, the attempt must be that member's (403). With
    `account`, the session's account must still be signed in (else AccountRefused) and the
    attempt its member's (403)."""
    now = now or utcnow()
    attempt_id = attempt if isinstance(attempt, int) else attempt.id
    valid_position = isinstance(position, int) and 0 < position < 10_000
    params = {
        "attempt_id": attempt_id,
        # Position 0 is no question: a number too large for the column is never sent.
        "position": position if valid_position else 0,
    }
    stmt = _LOAD_TO_SAVE
    if account is not None:
        stmt = _LOAD_TO_SAVE_WITH_ACCOUNT
        params["user_id"] = account.user_id
    # Straight to the connection, in the session's transaction: plain rows, no ORM work.
    connection = db.session.connection()
    locked = connection.execute(stmt, params).one_or_none()
    if locked is None:
        if account is not None:
            account.check()  # signed out comes first, as on any other page
        raise AttemptRefused(_("没有这次作答。"), 404, access=True)
    if account is not None:
        if (refused := account.refusal(locked)) is not None:
            raise refused
        member_id = locked.account_member_id
        if member_id is None:
            raise AttemptRefused(_("这不是您的作答。"), 403, access=True)
    if member_id is not None and locked.member_id != member_id:
        raise AttemptRefused(_("这不是您的作答。"), 403, access=True)
    if not isinstance(position, int):
        raise AttemptRefused(_("答案的格式不正确。"))
    if locked.status is not AttemptStatus.IN_PROGRESS:
        raise AttemptRefused(_("本次作答已经交卷，不能再修改答案。"), 409)
    if locked.deadline is not None and now > locked.deadline:
        overdue = db.session.get(Attempt, attempt_id)
        assert overdue is not None  # locked above
        finish_attempt(overdue, AttemptStatus.TIMED_OUT, now)
        raise AttemptRefused(_("作答时间已到，答案未保存；已按此前保存的答案交卷。"), 409)
    if locked.item_id is None:
        raise AttemptRefused(_("本次作答中没有这道题。"), 404)
    cleaned = _clean_response(locked, response)
    seq = locked.saved_seq + 1 if seq is None else seq
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq < 2**31:
        raise AttemptRefused(_("答案的格式不正确。"))
    saved = connection.execute(
        _WRITE_ANSWER,
        {"item_id": locked.item_id, "seq": seq, "answer": cleaned, "now": now},
    ).one_or_none()
    if saved is None:
        return SaveResult(position, locked.saved_seq, locked.saved_at, applied=False)
    return SaveResult(position, saved.saved_seq, saved.saved_at, applied=True)


# --- finishing and grading -------------------------------------------------------------------


def finish_attempt(attempt: Attempt, status: AttemptStatus, now: datetime | None = None) -> bool:
    """Finish and grade the attempt once. Returns False if it was already finished."""
    now = now or utcnow()
    if (
        status is AttemptStatus.SUBMITTED
        and attempt.deadline is not None
        and now > attempt.deadline
    ):
        status = AttemptStatus.TIMED_OUT
    # An UPDATE answers with a CursorResult (it has rowcount); Session.execute's type says Result.
    result = cast(
        sa.CursorResult[Any],
        db.session.execute(
            sa.update(Attempt)
            .where(Attempt.id == attempt.id, Attempt.status == AttemptStatus.IN_PROGRESS)
            .values(status=status, finished_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        db.session.refresh(attempt)  # finished already: the caller sees how
        return False
    # Grade exactly what is in the database now, not what this session last read: the attempt
    # with its quiz, then its questions with their versions, in two statements.
    db.session.scalars(
        sa.select(Attempt)
        .where(Attempt.id == attempt.id)
        .options(
            joinedload(Attempt.quiz),
            selectinload(Attempt.questions).joinedload(AttemptQuestion.version),
        )
        .execution_options(populate_existing=True)
    ).one()
    grade_attempt(attempt)
    return True


def _partial(attempt: Attempt) -> bool:
    return attempt.quiz.partial_credit if attempt.quiz is not None else False


def grade_attempt(attempt: Attempt) -> None:
    partial = _partial(attempt)
    score = Decimal(0)
    book = {
        entry.question_id: entry
        for entry in db.session.scalars(
            sa.select(WrongAnswer).where(
                WrongAnswer.member_id == attempt.member_id,
                WrongAnswer.question_id.in_([i.version.question_id for i in attempt.questions]),
            )
        )
    }
    added: dict[int, dict] = {}
    for item in attempt.questions:
        fraction = grade(item.version.data(), item.response, partial)
        item.awarded = (item.points * fraction).quantize(Decimal("0.01"))
        item.graded_version_id = item.version_id
        score += item.awarded
        _note_in_wrong_book(attempt, item, book, added)
    _set_score(attempt, score)
    db.session.flush()
    if added:
        # New entries need nothing back from the database: one INSERT for them all.
        db.session.execute(sa.insert(WrongAnswer), list(added.values()))


def _set_score(attempt: Attempt, score: Decimal) -> None:
    attempt.score = score
    pass_mark = attempt.quiz.pass_mark if attempt.quiz is not None else 100
    attempt.passed = bool(attempt.max_score) and score * 100 >= attempt.max_score * pass_mark


def _note_in_wrong_book(
    attempt: Attempt, item: AttemptQuestion, book: dict, added: dict[int, dict]
) -> None:
    """Note a wrong answer in the member's book (`book`: their entries by question), or mark a
    right one resolved in wrong-book practice. A question not yet in the book goes to `added`."""
    question_id = item.version.question_id
    entry = book.get(question_id)
    if item.correct:
        if entry is not None and attempt.kind is AttemptKind.WRONG_BOOK:
            entry.resolved_at = attempt.finished_at
        return
    if entry is None:
        added[question_id] = {
            "member_id": attempt.member_id,
            "question_id": question_id,
            "times_wrong": added[question_id]["times_wrong"] + 1 if question_id in added else 1,
            "last_wrong_at": attempt.finished_at,
            "last_attempt_question_id": item.id,
        }
    else:
        entry.times_wrong += 1
        entry.last_wrong_at = attempt.finished_at
        entry.last_attempt_question_id = item.id
        entry.resolved_at = None


def finish_overdue_attempts(
    now: datetime | None = None, member: Member | None = None, quiz: Quiz | None = None
) -> int:
    """The sweeper: finish every attempt past its deadline from what was saved."""
    now = now or utcnow()
    stmt = sa.select(Attempt).where(
        Attempt.status == AttemptStatus.IN_PROGRESS,
        Attempt.deadline.is_not(None),
        Attempt.deadline < now,
    )
    if member is not None:
        stmt = stmt.where(Attempt.member_id == member.id)
    if quiz is not None:
        stmt = stmt.where(Attempt.quiz_id == quiz.id)
    finished = 0
    for attempt in db.session.scalars(stmt.options(selectinload(Attempt.questions))).all():
        finished += finish_attempt(attempt, AttemptStatus.TIMED_OUT, now)
    return finished


def choose_counting(quiz: Quiz, attempts: list[Attempt]) -> Attempt | None:
    """Of one member's attempts (in order), the one that counts: highest or last, per the quiz,
    among the finished and graded ones; never for practice."""
    finished = [a for a in attempts if a.finished and a.score is not None]
    if quiz.practice or not finished:
        return None
    if quiz.counting is CountingRule.LAST:
        return finished[-1]
    return max(finished, key=lambda a: (a.score, -a.number))


def counting_attempt(quiz: Quiz, member: Member) -> Attempt | None:
    return choose_counting(quiz, attempts_of(quiz, member))


def counting_attempts_of(member: Member, quizzes: list[Quiz]) -> dict[int, Attempt | None]:
    """The counting attempt of each quiz for one member, in one query."""
    mine: dict[int, list[Attempt]] = {q.id: [] for q in quizzes}
    for attempt in db.session.scalars(
        sa.select(Attempt)
        .where(Attempt.member_id == member.id, Attempt.quiz_id.in_(list(mine)))
        .order_by(Attempt.quiz_id, Attempt.number)
    ):
        assert attempt.quiz_id is not None  # chosen by quiz_id IN (...)
        mine[attempt.quiz_id].append(attempt)
    return {q.id: choose_counting(q, mine[q.id]) for q in quizzes}


def review_allowed(attempt: Attempt, now: datetime | None = None) -> bool:
    """Whether the key, explanations and sources may be shown for this finished attempt."""
    if not attempt.finished:
        return False
    if attempt.quiz is None:
        return True  # wrong-book practice
    feedback = attempt.quiz.feedback
    if feedback is Feedback.IMMEDIATE:
        return True
    if feedback is Feedback.AFTER_CLOSE:
        closes = attempt.quiz.closes_at
        return closes is None or (now or utcnow()) >= closes
    return False


# --- key corrections -------------------------------------------------------------------------


def regrade_question(question: Question) -> int:
    """Grade again, with the question's current key, every finished answer to an earlier
    version of it whose options or blanks line up with the current one. Audited."""
    current = question.current
    items = db.session.scalars(
        sa.select(AttemptQuestion)
        .join(Attempt)
        .join(QuestionVersion, QuestionVersion.id == AttemptQuestion.version_id)
        .where(
            QuestionVersion.question_id == question.id,
            Attempt.status != AttemptStatus.IN_PROGRESS,
            AttemptQuestion.graded_version_id != current.id,
        )
    ).all()
    changed_attempts: dict[int, Attempt] = {}
    regraded = 0
    for item in items:
        seen = item.version
        if seen.type != current.type or len(seen.options) != len(current.options):
            continue
        if len(seen.blanks) != len(current.blanks):
            continue
        key = current.data()
        fraction = grade(key, item.response, _partial(item.attempt))
        item.awarded = (item.points * fraction).quantize(Decimal("0.01"))
        item.graded_version_id = current.id
        changed_attempts[item.attempt_id] = item.attempt
        regraded += 1
    for attempt in changed_attempts.values():
        _set_score(attempt, sum((i.awarded or Decimal(0) for i in attempt.questions), Decimal(0)))
    db.session.flush()
    record_audit(
        "question.regraded",
        "question",
        question.id,
        {"version": current.number, "answers": regraded, "attempts": len(changed_attempts)},
    )
    return regraded
