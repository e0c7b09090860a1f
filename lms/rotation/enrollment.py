"""调训: calling members to sessions, leave (请假), absence and make-up sessions (补训), with an
in-app notification for each step the member should know about."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lms.audit.services import record_audit
from lms.auth.models import User
from lms.clock import local_today
from lms.database import utcnow
from lms.extensions import db
from lms.notifications.services import notify_about_session
from lms.org.models import Member
from lms.sessions.models import (
    Enrollment,
    EnrollmentStatus,
    SessionStatus,
    TrainingSession,
)
from lms.transaction import atomic

OPEN_FOR_ENROLMENT = {SessionStatus.PLANNED, SessionStatus.OPEN, SessionStatus.IN_PROGRESS}
MISSED = {EnrollmentStatus.LEAVE_APPROVED, EnrollmentStatus.ABSENT}


class EnrollmentError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EnrollmentProblems(Exception):
    """Several members could not be enrolled; `messages` says why for each."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def seats_taken(session: TrainingSession) -> int:
    return db.session.execute(
        sa.select(sa.func.count(Enrollment.id)).where(
            Enrollment.session_id == session.id, Enrollment.status.not_in(MISSED)
        )
    ).scalar_one()


def enroll(
    session: TrainingSession,
    member: Member,
    *,
    cycle_id: int | None = None,
    makeup_of: Enrollment | None = None,
    check_capacity: bool = True,
) -> Enrollment:
    if session.status not in OPEN_FOR_ENROLMENT:
        raise EnrollmentError(_("该期次已结束或已取消，不能再安排学员。"))
    if not member.active:
        raise EnrollmentError(_("%(name)s 已停用，不能安排参训。", name=member.name))
    exists = db.session.scalar(
        sa.select(Enrollment.id).where(
            Enrollment.session_id == session.id, Enrollment.member_id == member.id
        )
    )
    if exists is not None:
        raise EnrollmentError(_("%(name)s 已在本期名单中。", name=member.name))
    if check_capacity and seats_taken(session) >= session.capacity:
        raise EnrollmentError(
            _("「%(title)s」已满员（%(n)d 人）。", title=session.title, n=session.capacity)
        )
    enrollment = Enrollment(
        session=session,
        member_id=member.id,
        cycle_id=cycle_id,
        makeup_of=makeup_of,
        status=EnrollmentStatus.INVITED,
    )
    try:
        with db.session.begin_nested():
            db.session.add(enrollment)
    except IntegrityError:
        raise EnrollmentError(
            _("%(name)s 在本轮训周期中已有安排，不能重复调训。", name=member.name)
        ) from None
    notify_about_session(member.id, "makeup" if makeup_of else "invited", session)
    return enrollment


# Trainees answer a call before the session starts; once it has started (or its status says
# it is over) the organizer handles changes: attendance, absence, approved leave.
ANSWERABLE = {SessionStatus.PLANNED, SessionStatus.OPEN}


def enroll_all(session: TrainingSession, members: list[Member]) -> int:
    """Enroll every one of `members`, or none: with any refused, nothing is kept and
    EnrollmentProblems gives every reason. Returns how many were enrolled."""
    problems: list[str] = []
    with atomic():
        for member in members:
            try:
                enroll(session, member)
            except EnrollmentError as exc:
                problems.append(exc.message)
        if problems:
            raise EnrollmentProblems(problems)
    return len(members)


def confirm_refusal(enrollment: Enrollment, today: date | None = None) -> str | None:
    """Why the trainee cannot confirm this call now, or None if they can."""
    today = today or local_today()
    session = enrollment.session
    if enrollment.status is not EnrollmentStatus.INVITED:
        return _("这一期无需再确认。")
    if session.status not in ANSWERABLE or session.start_date <= today:
        return _("本期已开始或已结束，不能再确认参训。")
    if session.enrolment_deadline is not None and today > session.enrolment_deadline:
        return _(
            "报名已于 %(date)s 截止，如有变动请联系组织者。",
            date=format_date(session.enrolment_deadline, "medium"),
        )
    return None


def confirm_attendance(enrollment: Enrollment) -> None:
    if (refusal := confirm_refusal(enrollment)) is not None:
        raise EnrollmentError(refusal)
    enrollment.status = EnrollmentStatus.CONFIRMED
    db.session.flush()


def leave_refusal(enrollment: Enrollment, today: date | None = None) -> str | None:
    """Why the trainee cannot ask for leave from this session now, or None if they can."""
    today = today or local_today()
    session = enrollment.session
    if enrollment.status not in (EnrollmentStatus.INVITED, EnrollmentStatus.CONFIRMED):
        return _("现在不能为这一期请假。")
    if session.status not in ANSWERABLE or session.start_date <= today:
        return _("本期已开始或已结束，不能再在线请假；如有特殊情况请联系组织者。")
    return None


def can_request_leave(enrollment: Enrollment, today: date | None = None) -> bool:
    return leave_refusal(enrollment, today) is None


def request_leave(enrollment: Enrollment, reason: str) -> None:
    if (refusal := leave_refusal(enrollment)) is not None:
        raise EnrollmentError(refusal)
    if not reason.strip():
        raise EnrollmentError(_("请填写请假原因。"))
    enrollment.status = EnrollmentStatus.LEAVE_REQUESTED
    enrollment.leave_reason = reason.strip()
    db.session.flush()
    record_audit(
        "enrollment.leave_requested", "enrollment", enrollment.id, {"reason": reason.strip()}
    )


def decide_leave(enrollment: Enrollment, approve: bool, user: User) -> None:
    if enrollment.status is not EnrollmentStatus.LEAVE_REQUESTED:
        raise EnrollmentError(_("这条请假已经处理过了。"))
    enrollment.status = EnrollmentStatus.LEAVE_APPROVED if approve else EnrollmentStatus.CONFIRMED
    enrollment.decided_by_id = user.id
    enrollment.decided_at = utcnow()
    db.session.flush()
    record_audit("enrollment.leave_decided", "enrollment", enrollment.id, {"approved": approve})
    notify_about_session(
        enrollment.member_id, "leave_approved" if approve else "leave_refused", enrollment.session
    )


def session_has_begun(session: TrainingSession) -> bool:
    """Whether a session's first lesson has started (its first day, without a timetable): only
    then can anyone have been absent from it."""
    if session.lessons:
        return session.lessons[0].starts_at <= utcnow()
    return session.start_date <= local_today()


def mark_absent(enrollment: Enrollment, user: User) -> None:
    if enrollment.status in MISSED:
        return
    if not session_has_begun(enrollment.session):
        raise EnrollmentError(_("期次还没有开始，不能记为缺席；不能参加的请办理请假。"))
    record_audit("enrollment.absent", "enrollment", enrollment.id, {"was": enrollment.status.value})
    enrollment.status = EnrollmentStatus.ABSENT
    enrollment.decided_by_id = user.id
    enrollment.decided_at = utcnow()
    db.session.flush()
    notify_about_session(enrollment.member_id, "absent", enrollment.session)


def carry_to_makeup(enrollment: Enrollment, target: TrainingSession) -> Enrollment:
    """补训: a member who was on leave or absent is called to a later session. Their earlier
    attendance stays on record and still counts."""
    if enrollment.status not in MISSED:
        raise EnrollmentError(_("只有已准假或缺席的学员才需要补训。"))
    if target.start_date <= enrollment.session.start_date:
        raise EnrollmentError(_("补训须安排在更晚的期次。"))
    if not target.targets(enrollment.member.category):
        raise EnrollmentError(_("「%(title)s」不面向该学员的类别。", title=target.title))
    makeup = enroll(target, enrollment.member, cycle_id=enrollment.cycle_id, makeup_of=enrollment)
    record_audit("enrollment.makeup", "enrollment", enrollment.id, {"to_session": target.id})
    return makeup


def session_enrollments(session: TrainingSession) -> list[Enrollment]:
    return list(
        db.session.scalars(
            sa.select(Enrollment)
            .join(Member, Member.id == Enrollment.member_id)
            .where(Enrollment.session_id == session.id)
            .options(selectinload(Enrollment.member).selectinload(Member.branch))
            .order_by(Member.staff_no)
        )
    )


def makeup_targets(session: TrainingSession) -> list[TrainingSession]:
    """Later sessions a member who missed `session` can be carried to."""
    return list(
        db.session.scalars(
            sa.select(TrainingSession)
            .where(
                TrainingSession.start_date > session.start_date,
                TrainingSession.status.in_(OPEN_FOR_ENROLMENT),
            )
            .order_by(TrainingSession.start_date)
            .limit(12)
        )
    )
