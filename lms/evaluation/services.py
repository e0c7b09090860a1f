"""Who may evaluate a session and saving an evaluation (the averages each reader may see are in
`results`).

Rules (see also the form page): a member evaluates a session once its last day has come (or it
is completed), if they are in it (Enrollment.in_session) and attended at least one of its
lessons (present, late or left early); they rate the lessons they attended. An evaluation is
final once submitted: it cannot be edited, so a trainee evaluates once and no later pressure
can change it. Lecturers see the averages and comments of their own lessons only, never names,
and nothing for a lesson or course with fewer than MIN_RATINGS_SHOWN ratings. Organizers see
everything; names only when the admin setting SHOW_NAMES_KEY is on (default off)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from lms.attendance.models import ATTENDED, Attendance
from lms.clock import local_today
from lms.enums import LabelledEnum
from lms.evaluation.models import MAX_SCORE, MIN_SCORE, LessonRating, SessionEvaluation
from lms.extensions import db
from lms.org.models import Member
from lms.sessions.models import Enrollment, Lesson, SessionStatus, TrainingSession
from lms.sessions.services import is_enrolled_in_session


class Aspect(LabelledEnum):
    """What a trainee scores each lesson on."""

    CONTENT = "content", _l("内容")
    LECTURER = "lecturer", _l("讲师")
    USEFULNESS = "usefulness", _l("实用性")


class EvaluationError(Exception):
    """An evaluation that cannot be saved; the message says why, in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- who may evaluate ------------------------------------------------------------------------


def evaluation_open(session: TrainingSession, today: date | None = None) -> bool:
    """Open from the session's last day (or once it is completed); never for a cancelled one."""
    if session.status is SessionStatus.CANCELLED:
        return False
    return session.status is SessionStatus.COMPLETED or session.end_date <= (today or local_today())


def attended_lessons(session: TrainingSession, member: Member) -> list[Lesson]:
    """The session's lessons the member attended (present, late or left early), in order."""
    return list(
        db.session.scalars(
            sa.select(Lesson)
            .join(Attendance, Attendance.lesson_id == Lesson.id)
            .where(
                Lesson.session_id == session.id,
                Attendance.member_id == member.id,
                Attendance.status.in_(ATTENDED),
            )
            .order_by(Lesson.starts_at, Lesson.id)
        )
    )


def submitted(session: TrainingSession, member: Member) -> SessionEvaluation | None:
    return db.session.scalar(
        sa.select(SessionEvaluation).where(
            SessionEvaluation.session_id == session.id, SessionEvaluation.member_id == member.id
        )
    )


def refusal(session: TrainingSession, member: Member | None) -> str | None:
    """Why this member may not evaluate this session, in the user's language, or None."""
    if member is None:
        return _("只有参训学员可以评估。")
    if not is_enrolled_in_session(member, session.id):
        return _("您未参加本期培训，不能评估。")
    if session.status is SessionStatus.CANCELLED:
        return _("本期培训已取消，无需评估。")
    if not evaluation_open(session):
        return _("本期培训最后一天起才能评估。")
    if not attended_lessons(session, member):
        return _("您没有本期课次的出勤记录，不能评估。")
    return None


def pending_sessions(member: Member, today: date | None = None) -> list[TrainingSession]:
    """Sessions the member may evaluate and has not yet: the home page's 待评估 prompt."""
    today = today or local_today()
    attended = (
        sa.select(Attendance.id)
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .where(
            Lesson.session_id == TrainingSession.id,
            Attendance.member_id == member.id,
            Attendance.status.in_(ATTENDED),
        )
        .exists()
    )
    done = (
        sa.select(SessionEvaluation.id)
        .where(
            SessionEvaluation.session_id == TrainingSession.id,
            SessionEvaluation.member_id == member.id,
        )
        .exists()
    )
    return list(
        db.session.scalars(
            sa.select(TrainingSession)
            .join(Enrollment, Enrollment.session_id == TrainingSession.id)
            .where(
                Enrollment.member_id == member.id,
                Enrollment.in_session,
                TrainingSession.status != SessionStatus.CANCELLED,
                sa.or_(
                    TrainingSession.status == SessionStatus.COMPLETED,
                    TrainingSession.end_date <= today,
                ),
                attended,
                ~done,
            )
            .order_by(TrainingSession.end_date.desc())
        )
    )


# --- saving ----------------------------------------------------------------------------------


@dataclass
class LessonScores:
    lesson_id: int
    content: int
    lecturer: int
    usefulness: int
    comment: str = ""


def _valid_score(value: object) -> bool:
    return (
        isinstance(value, int) and not isinstance(value, bool) and MIN_SCORE <= value <= MAX_SCORE
    )


def submit_evaluation(
    session: TrainingSession,
    member: Member,
    lessons: Sequence[LessonScores],
    overall: int,
    comment: str = "",
) -> SessionEvaluation:
    """Save the member's ratings of every lesson they attended and of the session, or nothing:
    all lessons they attended must be rated, each score a whole number from 1 to 5."""
    if (reason := refusal(session, member)) is not None:
        raise EvaluationError(reason)
    if submitted(session, member) is not None:
        raise EvaluationError(_("您已提交过本期评估，评估提交后不能修改。"))
    expected = {lesson.id for lesson in attended_lessons(session, member)}
    given = [scores.lesson_id for scores in lessons]
    if len(set(given)) != len(given) or set(given) != expected:
        raise EvaluationError(_("请为您参加的每一个课次评分，且只评本期您参加的课次。"))
    scores = [overall] + [getattr(s, aspect) for s in lessons for aspect in Aspect]
    if not all(_valid_score(score) for score in scores):
        raise EvaluationError(_("分数须为 1 到 5 的整数。"))
    db.session.add_all(
        LessonRating(
            lesson_id=s.lesson_id,
            member_id=member.id,
            content=s.content,
            lecturer=s.lecturer,
            usefulness=s.usefulness,
            comment=s.comment.strip(),
        )
        for s in lessons
    )
    evaluation = SessionEvaluation(
        session_id=session.id, member_id=member.id, overall=overall, comment=comment.strip()
    )
    db.session.add(evaluation)
    db.session.flush()
    return evaluation
