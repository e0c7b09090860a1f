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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeGuard, cast

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from lms.audit.services import record_audit
from lms.auth.models import Role, User, UserRole
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
from lms.quizzes.questions import CHOICE_TYPES, MAX_OPTIONS, QuestionType
from lms.quizzes.services import draw_pool
from lms.sessions.models import Enrollment
from lms.transaction import insert_or_skip, one_row_alone, rows_alone

MAX_BLANK_LENGTH = 200
# An attempt's questions as a table, for the statements that write many at once without ORM work.
_QUESTIONS = cast(sa.Table, AttemptQuestion.__table__)


class AttemptRefused(Exception):
    """The request cannot be honoured; `message` says why in the user's language."""

    def __init__(self, message: str, status: int = 400, access: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.access = access  # not the caller's attempt at all: answer like any other page


# --- access ----------------------------------------------------------------------------------


# --- starting --------------------------------------------------------------------------------


def in_progress_attempt_id(quiz: Quiz, member_id: int) -> int | None:
    return db.session.scalar(
        sa.select(Attempt.id).where(
            Attempt.quiz_id == quiz.id,
            Attempt.member_id == member_id,
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


def _fixed_items() -> sa.Select:
    """A quiz's fixed items (quiz :quiz_id) whose questions are active, in their current
    versions, with what an attempt's layout needs and nothing more."""
    latest = aliased(QuestionVersion)
    current = (
        sa.select(sa.func.max(latest.number))
        .where(latest.question_id == QuestionVersion.question_id)
        .scalar_subquery()
    )
    return (
        sa.select(
            QuestionVersion.id,
            QuestionVersion.question_id,
            QuestionVersion.type,
            QuestionVersion.options,
            QuizItem.points,
            Question.bank_id,
            Question.exclusive_group,
        )
        .select_from(QuizItem)
        .join(Question, Question.id == QuizItem.question_id)
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .where(
            QuizItem.quiz_id == sa.bindparam("quiz_id"),
            Question.active.is_(True),
            QuestionVersion.number == current,
        )
        .order_by(QuizItem.position)
    )


# Built once: a start in the minute of an exam bell only binds the quiz's id.
_FIXED_ITEMS = _fixed_items()


class Shown(Protocol):
    """A question version as a layout needs it: a `QuestionVersion`, or a row of its columns."""

    id: int
    question_id: int
    type: QuestionType
    options: list


def _choose_versions(quiz: Quiz, rng: random.Random) -> list[tuple[Shown, Decimal]]:
    chosen: list[tuple[Shown, Decimal]] = []
    taken: set[int] = set()
    groups: set[tuple[int, str]] = set()
    for item in db.session.execute(_FIXED_ITEMS, {"quiz_id": quiz.id}):
        chosen.append((item, item.points))
        taken.add(item.question_id)
        if item.exclusive_group:
            groups.add((item.bank_id, item.exclusive_group))
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
    chosen: Sequence[tuple[Shown, Decimal]],
    rng: random.Random,
    shuffle_questions: bool,
    shuffle_options: bool,
) -> list[dict]:
    """Fix the order of questions and options for an attempt, from its seed: each position's
    row of `attempt_questions` (without the attempt's id)."""
    versions = list(chosen)
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


def _max_score(layout: list[dict]) -> Decimal:
    return sum((row["points"] for row in layout), Decimal(0))


def _add_questions(attempt_id: int, layout: list[dict]) -> None:
    # They need nothing back from the database: one INSERT for them all, no ORM work per row.
    db.session.execute(sa.insert(_QUESTIONS), [{**row, "attempt_id": attempt_id} for row in layout])


def add_attempt(attempt: Attempt, layout: list[dict]) -> None:
    """Store a new attempt with its questions (`lay_out_questions`)."""
    attempt.max_score = _max_score(layout)
    db.session.add(attempt)
    db.session.flush()
    _add_questions(attempt.id, layout)


def start_attempt(quiz: Quiz, member: Member, now: datetime | None = None) -> Attempt:
    """Resume the member's attempt in progress, or start a new one if the quiz allows it: for
    a member at hand (a request has `start_facts` and `start_from`)."""
    previous = attempts_of(quiz, member)
    in_progress = next((a for a in previous if a.status is AttemptStatus.IN_PROGRESS), None)
    attempt_id = _start(
        quiz,
        member.id,
        len(previous),
        (in_progress.id, in_progress.deadline) if in_progress else None,
        now or utcnow(),
    )
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt is not None
    return attempt


@dataclass(frozen=True)
class StartFacts:
    """What starting a quiz for the session's account needs to know (`start_facts`)."""

    quiz: Quiz  # with its draws
    member_id: int | None  # the account's member
    organizer: bool  # the account is an organizer's
    in_session: bool  # its member is in the quiz's session
    attempts_made: int  # its member's attempts of the quiz
    in_progress: tuple[int, datetime | None] | None  # the one in progress: id, deadline


def _start_facts_statement() -> sa.Select:
    """Quiz :quiz_id with its draws, the session's account (user :user_id;
    `SessionAccount.columns`) and what `StartFacts` says of it."""
    account: sa.BindParameter[int] = sa.bindparam("user_id")
    mine = sa.and_(Attempt.quiz_id == Quiz.id, Attempt.member_id == User.member_id)
    in_progress = sa.and_(mine, Attempt.status == AttemptStatus.IN_PROGRESS)
    return (
        sa.select(
            Quiz,
            *SessionAccount.columns(),
            sa.exists()
            .where(UserRole.user_id == account, UserRole.role == Role.ORGANIZER)
            .label("organizer"),
            sa.exists()
            .where(
                Enrollment.session_id == Quiz.session_id,
                Enrollment.member_id == User.member_id,
                Enrollment.in_session,
            )
            .label("in_session"),
            sa.select(sa.func.count(Attempt.id)).where(mine).scalar_subquery().label("made"),
            sa.select(Attempt.id).where(in_progress).scalar_subquery().label("in_progress_id"),
            sa.select(Attempt.deadline)
            .where(in_progress)
            .scalar_subquery()
            .label("in_progress_deadline"),
        )
        .outerjoin(User, User.id == account)
        .where(Quiz.id == sa.bindparam("quiz_id"))
        .options(joinedload(Quiz.draws))
    )


_START_FACTS = _start_facts_statement()


def start_facts(quiz_id: int, account: SessionAccount) -> StartFacts:
    """The quiz, who the session's account is and its member's attempts of the quiz, in one
    statement, for the start at an exam bell: the account is checked in it and never loaded.

    Raises AccountRefused (signed out, or a password change due), and AttemptRefused (access):
    404 when there is no such quiz."""
    row = (
        db.session.execute(_START_FACTS, {"quiz_id": quiz_id, "user_id": account.user_id})
        .unique()
        .one_or_none()
    )
    if row is None:
        account.check()  # signed out comes first, as on any other page
        raise AttemptRefused(_("页面不存在"), 404, access=True)
    if (refused := account.refusal(row)) is not None:
        raise refused
    return StartFacts(
        quiz=row.Quiz,
        member_id=row.account_member_id,
        organizer=row.organizer,
        in_session=row.in_session,
        attempts_made=row.made,
        in_progress=(row.in_progress_id, row.in_progress_deadline)
        if row.in_progress_id is not None
        else None,
    )


def start_from(facts: StartFacts, now: datetime | None = None) -> int:
    """`start_attempt` for the account `start_facts` read (its member may take the quiz: the
    caller has checked); the attempt's id."""
    assert facts.member_id is not None
    return _start(
        facts.quiz, facts.member_id, facts.attempts_made, facts.in_progress, now or utcnow()
    )


def _start(
    quiz: Quiz,
    member_id: int,
    attempts_made: int,
    in_progress: tuple[int, datetime | None] | None,
    now: datetime,
) -> int:
    """Resume the attempt in progress (id, deadline) or start a new one; the attempt's id."""
    if in_progress is not None:
        attempt_id, deadline = in_progress
        if deadline is None or now <= deadline:
            return attempt_id
        overdue = db.session.get(Attempt, attempt_id)
        if overdue is not None:
            finish_attempt(overdue, AttemptStatus.TIMED_OUT, now)  # its time ran out
    if problem := window_problem(quiz, now):
        raise AttemptRefused(problem, 409)
    if quiz.max_attempts and not quiz.practice and attempts_made >= quiz.max_attempts:
        raise AttemptRefused(_("您已用完本测试的 %(n)d 次作答机会。", n=quiz.max_attempts), 409)
    seed = secrets.randbits(48)
    rng = random.Random(seed)
    versions = _choose_versions(quiz, rng)
    if not versions:
        raise AttemptRefused(_("该测试还没有题目。"), 409)
    layout = lay_out_questions(versions, rng, quiz.shuffle_questions, quiz.shuffle_options)
    # One INSERT that skips the row when the member already has an attempt in progress (the
    # unique index): no savepoint to undo a failed one. Another tab that started one a moment
    # ago wins, and that is the attempt in progress.
    started = db.session.scalar(
        insert_or_skip(Attempt)
        .values(
            quiz_id=quiz.id,
            member_id=member_id,
            number=attempts_made + 1,
            seed=seed,
            practice=quiz.practice,
            started_at=now,
            deadline=deadline_for(quiz, now),
            max_score=_max_score(layout),
        )
        .returning(Attempt.id)
    )
    if started is None:
        existing = in_progress_attempt_id(quiz, member_id)
        if existing is None:  # it was finished meanwhile: ask again
            raise AttemptRefused(_("您的另一次作答刚刚结束，请重新开始。"), 409)
        return existing
    _add_questions(started, layout)
    return started


def _owned_by(row: sa.Row | None, account: SessionAccount) -> sa.Row:
    """An attempt's row read with the session's account (`SessionAccount.columns`), if that
    account may act on the attempt. Raises AccountRefused when it may not act at all (signed
    out comes first, as on any other page), and AttemptRefused (access): 404 without a row, 403
    when the attempt is not the account's member's."""
    if row is None:
        account.check()
        raise AttemptRefused(_("没有这次作答。"), 404, access=True)
    if (refused := account.refusal(row)) is not None:
        raise refused
    if row.account_member_id is None or row.member_id != row.account_member_id:
        raise AttemptRefused(_("这不是您的作答。"), 403, access=True)
    return row


# --- the question page -----------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionPage:
    """What a question page of an attempt in progress shows (`question_page`)."""

    attempt_id: int
    title: str | None  # the quiz's; None for a wrong-book practice
    trainee: str  # the member's name, for the exam bar
    locale: str | None  # the account's language, so the page need not load the account for it
    deadline: datetime | None
    items: Sequence[sa.Row]  # every question in order: position, response, saved_seq (the palette)
    # The question on screen: also saved_at and option_order, and what it asks (the columns of
    # its version that `_question_body.html` reads without the key: type, stem, options).
    item: sa.Row


def _question_page_statement() -> sa.Select:
    """The attempt :attempt_id with its quiz's title and its member's name, a row for each of
    its questions and, on the row at :position only, what that question asks; with the session's
    account (`SessionAccount.columns`, user :user_id) on every row."""
    at_position = AttemptQuestion.position == sa.bindparam("position")
    return (
        sa.select(
            Attempt.member_id,
            Attempt.status,
            Attempt.deadline,
            Quiz.title,
            Member.name.label("trainee"),
            AttemptQuestion.position,
            AttemptQuestion.response,
            AttemptQuestion.saved_seq,
            AttemptQuestion.saved_at,
            AttemptQuestion.option_order,
            QuestionVersion.type,
            QuestionVersion.stem,
            QuestionVersion.options,
            *SessionAccount.columns(),
            User.locale.label("account_locale"),
        )
        .join(Member, Member.id == Attempt.member_id)
        .outerjoin(Quiz, Quiz.id == Attempt.quiz_id)
        .join(AttemptQuestion, AttemptQuestion.attempt_id == Attempt.id)
        .outerjoin(
            QuestionVersion, sa.and_(QuestionVersion.id == AttemptQuestion.version_id, at_position)
        )
        .outerjoin(User, User.id == sa.bindparam("user_id"))
        .where(Attempt.id == sa.bindparam("attempt_id"))
        .order_by(AttemptQuestion.position)
    )


_QUESTION_PAGE = _question_page_statement()


def question_page(
    attempt_id: int, position: int, account: SessionAccount, now: datetime | None = None
) -> QuestionPage | None:
    """A question page of an attempt in progress, read in one statement that also checks the
    session's account, as the autosave does, and on PostgreSQL in autocommit (`rows_alone`): the
    page every trainee opens at the exam bell, and at each question without JavaScript. None
    when the attempt is finished or its time is up (the caller finishes it and shows the
    result).

    Raises AccountRefused (signed out, or a password change due), and AttemptRefused (access):
    404 when there is no such attempt or no question at `position`, 403 when the attempt is not
    the account's member's."""
    now = now or utcnow()
    rows = rows_alone(
        _QUESTION_PAGE,
        {"attempt_id": attempt_id, "position": position, "user_id": account.user_id},
    )
    first = _owned_by(rows[0] if rows else None, account)
    if first.status is not AttemptStatus.IN_PROGRESS or (
        first.deadline is not None and now > first.deadline
    ):
        return None
    item = next((row for row in rows if row.position == position), None)
    if item is None:
        raise AttemptRefused(_("本次作答中没有这道题。"), 404, access=True)
    return QuestionPage(
        attempt_id=attempt_id,
        title=first.title,
        trainee=first.trainee,
        locale=first.account_locale,
        deadline=first.deadline,
        items=rows,
        item=item,
    )


# --- answering -------------------------------------------------------------------------------


def _is_position(position: object) -> TypeGuard[int]:
    # Position 0 is no question; a number too large for the column is never sent.
    return isinstance(position, int) and 0 < position < 10_000


def _is_seq(seq: object) -> TypeGuard[int]:
    return isinstance(seq, int) and not isinstance(seq, bool) and 0 < seq < 2**31


def _is_choice_list(choices: object) -> TypeGuard[list[int]]:
    return isinstance(choices, list) and all(
        isinstance(c, int) and not isinstance(c, bool) for c in choices
    )


def _is_blank_list(blanks: object) -> TypeGuard[list[str]]:
    return isinstance(blanks, list) and all(isinstance(b, str) for b in blanks)


def _blanks_fit(blanks: list[str]) -> bool:
    return not any(len(b) > MAX_BLANK_LENGTH or "\x00" in b for b in blanks)


def _cleaned_choices(choices: list[int]) -> dict | None:
    return {"choices": sorted(choices)} if choices else None


def _cleaned_blanks(blanks: list[str]) -> dict | None:
    return {"blanks": blanks} if any(b.strip() for b in blanks) else None


def _clean_response(version, response: object) -> dict | None:
    """Check a submitted answer against the question (anything with the version's `type`,
    `options` and `blanks`); None clears it."""
    if response is None:
        return None
    if not isinstance(response, dict):
        raise AttemptRefused(_("答案的格式不正确。"))
    if version.type in CHOICE_TYPES:
        choices = response.get("choices")
        if not _is_choice_list(choices):
            raise AttemptRefused(_("答案的格式不正确。"))
        count = 2 if version.type is QuestionType.TRUE_FALSE else len(version.options)
        if any(not 0 <= c < count for c in choices) or len(set(choices)) != len(choices):
            raise AttemptRefused(_("所选的选项不存在。"))
        if version.type is not QuestionType.MULTIPLE and len(choices) > 1:
            raise AttemptRefused(_("这道题只能选一个答案。"))
        return _cleaned_choices(choices)
    blanks = response.get("blanks")
    if not _is_blank_list(blanks):
        raise AttemptRefused(_("答案的格式不正确。"))
    if len(blanks) != len(version.blanks):
        raise AttemptRefused(_("填空的数量与题目不符。"))
    if not _blanks_fit(blanks):
        raise AttemptRefused(_("填写的内容太长或含有无效字符。"))
    return _cleaned_blanks(blanks)


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


def _write_if_allowed(shape: str) -> sa.Update:
    """An autosave in one statement, for an answer whose form was checked in Python and whose
    `shape` ("clear", "choices" or "blanks") the question must fit: the answer at :at_position of
    attempt :attempt is written only when everything `save_answer` checks holds. The session's
    account (user :user_id, :token) is signed in, active, needs no password change and is the
    attempt's member; the attempt is in progress and :now is within its deadline; :seq is newer
    than the saved one; and the question takes the answer: for "choices", :count choices (more
    than one only for a multiple-choice question), the highest :top, within its options; for
    "blanks", :count blanks, as many as it has. It locks the attempt as the two-statement path
    does (shared, so a submit waits for it and it sees a submit that went first). No row back
    means something did not hold, and the two-statement path says what."""
    now = sa.bindparam("now", type_=AttemptQuestion.saved_at.type)
    allowed_attempt = (
        sa.select(Attempt.id)
        .join(User, User.member_id == Attempt.member_id)
        .where(
            Attempt.id == sa.bindparam("attempt"),
            Attempt.status == AttemptStatus.IN_PROGRESS,
            sa.or_(Attempt.deadline.is_(None), Attempt.deadline >= now),
            User.id == sa.bindparam("user_id"),
            User.active.is_(True),
            User.session_token == sa.bindparam("token"),
            User.must_change_password.is_(False),
        )
        .with_for_update(read=True, of=Attempt)
        .scalar_subquery()
    )
    count, top = sa.bindparam("count", type_=sa.Integer), sa.bindparam("top", type_=sa.Integer)
    fits = {
        "clear": sa.true(),
        "choices": sa.and_(
            # Not IN (…): an IN list is rendered again at each execution.
            sa.or_(*(QuestionVersion.type == t for t in sorted(CHOICE_TYPES))),
            sa.or_(QuestionVersion.type == QuestionType.MULTIPLE, count <= 1),
            top
            < sa.case(
                (QuestionVersion.type == QuestionType.TRUE_FALSE, 2),
                else_=sa.func.json_array_length(QuestionVersion.options),
            ),
        ),
        "blanks": sa.and_(
            QuestionVersion.type == QuestionType.FILL_BLANK,
            sa.func.json_array_length(QuestionVersion.blanks) == count,
        ),
    }[shape]
    return (
        sa.update(AttemptQuestion)
        .where(
            AttemptQuestion.attempt_id == allowed_attempt,
            AttemptQuestion.position == sa.bindparam("at_position"),
            AttemptQuestion.saved_seq < sa.bindparam("seq"),
            sa.select(QuestionVersion.id)
            .where(QuestionVersion.id == AttemptQuestion.version_id, fits)
            .exists(),
        )
        .values(
            response=sa.bindparam("answer", type_=AttemptQuestion.response.type),
            saved_seq=sa.bindparam("seq"),
            saved_at=now,
        )
        .returning(AttemptQuestion.saved_seq, AttemptQuestion.saved_at)
    )


_WRITE_IF_ALLOWED = {shape: _write_if_allowed(shape) for shape in ("clear", "choices", "blanks")}


def _answer_fit(response: object) -> tuple[str, dict | None, int, int] | None:
    """What of an answer can be checked without its question: (shape, cleaned answer, count,
    highest choice) for `_write_if_allowed`, or None when it is not well formed."""
    if response is None:
        return "clear", None, 0, 0
    if not isinstance(response, dict):
        return None
    if "choices" in response:
        choices = response["choices"]
        if not _is_choice_list(choices) or len(set(choices)) != len(choices):
            return None
        # No question has more options than MAX_OPTIONS: a larger number is refused step by
        # step, and would not fit the statement's INTEGER parameter anyway.
        if choices and not (min(choices) >= 0 and max(choices) < MAX_OPTIONS):
            return None
        return "choices", _cleaned_choices(choices), len(choices), max(choices, default=-1)
    blanks = response.get("blanks")
    if not _is_blank_list(blanks) or not _blanks_fit(blanks):
        return None
    return "blanks", _cleaned_blanks(blanks), len(blanks), 0


def _save_at_once(
    attempt_id: int,
    position: object,
    response: object,
    seq: object,
    now: datetime,
    account: SessionAccount,
) -> SaveResult | None:
    """The busiest request's usual case in one statement (`_write_if_allowed`); None when it
    did not apply, for `save_answer` to check step by step and say why."""
    if not _is_position(position) or not _is_seq(seq):
        return None
    if (fit := _answer_fit(response)) is None:
        return None
    shape, cleaned, count, top = fit
    saved = one_row_alone(
        _WRITE_IF_ALLOWED[shape],
        {
            "attempt": attempt_id,
            "at_position": position,
            "seq": seq,
            "answer": cleaned,
            "now": now,
            "user_id": account.user_id,
            "token": account.token,
            "count": count,
            "top": top,
        },
    )
    if saved is None:
        return None
    return SaveResult(position, saved.saved_seq, saved.saved_at, applied=True)


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
    """Save one answer (the busiest request of a quiz). With `account` (the autosave), the usual
    case is one statement (`_save_at_once`, stored by itself on PostgreSQL); otherwise, and when
    that one wrote nothing, two: one loads, checks and locks the attempt with the question at
    `position` (and the account, when given), the other writes the answer or the refusal says why.

    `seq` orders the saves of one question: an older one arriving late is acknowledged but does
    not overwrite a newer one. With `member_id`, the attempt must be that member's (403). With
    `account`, the session's account must still be signed in (else AccountRefused) and the
    attempt its member's (403)."""
    now = now or utcnow()
    attempt_id = attempt if isinstance(attempt, int) else attempt.id
    if account is not None and (
        done := _save_at_once(attempt_id, position, response, seq, now, account)
    ):
        return done
    params = {"attempt_id": attempt_id, "position": position if _is_position(position) else 0}
    stmt = _LOAD_TO_SAVE
    if account is not None:
        stmt = _LOAD_TO_SAVE_WITH_ACCOUNT
        params["user_id"] = account.user_id
    # Straight to the connection, in the session's transaction: plain rows, no ORM work.
    connection = db.session.connection()
    locked = connection.execute(stmt, params).one_or_none()
    if account is not None:
        locked = _owned_by(locked, account)
    elif locked is None:
        raise AttemptRefused(_("没有这次作答。"), 404, access=True)
    elif member_id is not None and locked.member_id != member_id:
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
    if not _is_seq(seq):
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
    """Grade every question of the attempt, its score, and the member's wrong-answer book, in
    a few statements whatever the number of questions (an exam ends for a cohort at once)."""
    partial = _partial(attempt)
    score = Decimal(0)
    grades: dict[int, Decimal] = {}
    wrong: dict[int, list[int]] = {}  # question id → the attempt's items that got it wrong
    right: set[int] = set()
    for item in attempt.questions:
        fraction = grade(item.version.data(), item.response, partial)
        awarded = (item.points * fraction).quantize(Decimal("0.01"))
        # Written below for all the questions in one statement: the loaded questions take the
        # values as saved, so the session has nothing left to write for them.
        set_committed_value(item, "awarded", awarded)
        set_committed_value(item, "graded_version_id", item.version_id)
        grades[item.id] = awarded
        score += awarded
        if item.correct:
            right.add(item.version.question_id)
        else:
            wrong.setdefault(item.version.question_id, []).append(item.id)
    if grades:
        db.session.execute(
            sa.update(_QUESTIONS)
            .where(_QUESTIONS.c.attempt_id == attempt.id)
            .values(
                awarded=sa.case(grades, value=_QUESTIONS.c.id, else_=_QUESTIONS.c.awarded),
                graded_version_id=_QUESTIONS.c.version_id,
            )
        )
    _set_score(attempt, score)
    _note_in_wrong_book(attempt, wrong, right - wrong.keys())
    db.session.flush()


def _set_score(attempt: Attempt, score: Decimal) -> None:
    attempt.score = score
    pass_mark = attempt.quiz.pass_mark if attempt.quiz is not None else 100
    attempt.passed = bool(attempt.max_score) and score * 100 >= attempt.max_score * pass_mark


def _note_in_wrong_book(attempt: Attempt, wrong: dict[int, list[int]], right: set[int]) -> None:
    """Note the questions answered wrong (`wrong`: question id → the attempt's items) in the
    member's book: a new entry each in one INSERT, one UPDATE for those already there (once
    more wrong, unresolved again). In wrong-book practice, the questions answered right are
    marked resolved."""
    finished_at = attempt.finished_at
    mine = WrongAnswer.member_id == attempt.member_id
    if wrong:
        listed = set(
            db.session.scalars(
                sa.select(WrongAnswer.question_id).where(mine, WrongAnswer.question_id.in_(wrong))
            )
        )
        again = {q: items for q, items in wrong.items() if q in listed}
        if again:
            db.session.execute(
                sa.update(WrongAnswer)
                .where(mine, WrongAnswer.question_id.in_(again))
                .values(
                    times_wrong=WrongAnswer.times_wrong
                    + sa.case(
                        {q: len(items) for q, items in again.items()},
                        value=WrongAnswer.question_id,
                    ),
                    last_wrong_at=finished_at,
                    last_attempt_question_id=sa.case(
                        {q: items[-1] for q, items in again.items()},
                        value=WrongAnswer.question_id,
                    ),
                    resolved_at=None,
                )
            )
        if new := [
            {
                "member_id": attempt.member_id,
                "question_id": q,
                "times_wrong": len(items),
                "last_wrong_at": finished_at,
                "last_attempt_question_id": items[-1],
            }
            for q, items in wrong.items()
            if q not in listed
        ]:
            # New entries need nothing back from the database: one INSERT for them all.
            db.session.execute(sa.insert(WrongAnswer), new)
    if right and attempt.kind is AttemptKind.WRONG_BOOK:
        db.session.execute(
            sa.update(WrongAnswer)
            .where(mine, WrongAnswer.question_id.in_(right))
            .values(resolved_at=finished_at)
        )


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
