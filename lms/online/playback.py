"""Watching a recording: heartbeats credit playback only as real time passes, and a recording
watched through (its quiz passed, if any) is credited once: as the missed lesson's attendance,
or as online hours."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.attendance.models import Attendance, AttendanceMethod, AttendanceStatus
from lms.attendance.services import refresh_totals
from lms.audit.services import record_audit
from lms.database import utcnow
from lms.extensions import db
from lms.online.models import Recording, ViewingProgress
from lms.online.services import hours_for, missed_lesson, percent
from lms.org.models import Member
from lms.quizzes.attempts import counting_attempt
from lms.sessions.services import is_enrolled_in_session

# The page beats every 10 s while the video plays and the tab is visible.
TOLERANCE_SECONDS = 3.0  # network jitter between the position read and the request arriving
MAX_GAP_SECONDS = 60.0  # a longer silence (paused, hidden tab, closed) starts a new stretch
DONE_SHARE = 0.95  # watched through: this share of the running time seen played


class HeartbeatRefused(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def progress_for(member: Member, recording: Recording, *, lock: bool = False) -> ViewingProgress:
    stmt = sa.select(ViewingProgress).where(
        ViewingProgress.member_id == member.id, ViewingProgress.recording_id == recording.id
    )
    if lock:
        stmt = stmt.with_for_update()
    progress = db.session.scalar(stmt)
    if progress is None:
        progress = ViewingProgress(
            member_id=member.id,
            recording_id=recording.id,
            position_seconds=0.0,
            watched=[],
            watched_seconds=0,
            credited_hours=Decimal(0),
            made_up=False,
        )
        db.session.add(progress)
        db.session.flush()
    return progress


def parse_position(payload: object, recording: Recording) -> float:
    """The playback position in a heartbeat's JSON body, or HeartbeatRefused."""
    if not isinstance(payload, dict):
        raise HeartbeatRefused(_("请求格式无效。"))
    position = payload.get("position")
    if isinstance(position, bool) or not isinstance(position, int | float):
        raise HeartbeatRefused(_("播放位置无效。"))
    position = float(position)
    if not math.isfinite(position) or position < 0:
        raise HeartbeatRefused(_("播放位置无效。"))
    if position > recording.duration_seconds + TOLERANCE_SECONDS:
        raise HeartbeatRefused(_("播放位置超出视频时长。"))
    return min(position, float(recording.duration_seconds))


def _merge(stretches: list[list[float]], start: float, end: float) -> list[list[float]]:
    merged: list[list[float]] = []
    for a, b in sorted([*stretches, [start, end]]):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [[round(a, 1), round(b, 1)] for a, b in merged]


def record_heartbeat(
    progress: ViewingProgress, position: float, now: datetime | None = None
) -> float:
    """Credit the playback since the previous heartbeat and return the seconds credited.

    At most the wall-clock time since the previous heartbeat counts, and only if the position
    moved forward by about that much: a jump ahead (seeking, or a client posting the end at
    once), a jump back, or a silence longer than MAX_GAP_SECONDS credits nothing and only
    starts a new stretch from the position reported."""
    now = now or utcnow()
    credited = 0.0
    last = progress.last_heartbeat_at
    if last is not None:
        elapsed = (now - last).total_seconds()
        advanced = position - progress.position_seconds
        if 0 < elapsed <= MAX_GAP_SECONDS and 0 < advanced <= elapsed + TOLERANCE_SECONDS:
            credited = min(advanced, elapsed)
            start = progress.position_seconds
            progress.watched = _merge(progress.watched or [], start, start + credited)
            progress.watched_seconds = math.floor(sum(b - a for a, b in progress.watched))
    progress.position_seconds = position
    progress.last_heartbeat_at = now
    duration = progress.recording.duration_seconds
    if progress.watched_through_at is None and progress.watched_seconds >= DONE_SHARE * duration:
        progress.watched_through_at = now
    db.session.flush()
    return credited


def quiz_passed(progress: ViewingProgress) -> bool:
    quiz = progress.recording.quiz
    if quiz is None:
        return True
    attempt = counting_attempt(quiz, progress.member)
    return attempt is not None and bool(attempt.passed)


def settle(progress: ViewingProgress, now: datetime | None = None) -> bool:
    """Credit a watched-through recording once its quiz (if any) is passed. A missed lesson's
    recording becomes that lesson's attendance (method online), so the session's completion
    rule, certificates, totals and the hours ledger all read the one attendance table; any
    other recording earns the organizer's online hours rule. Returns whether it credited now."""
    if progress.credited_at is not None or progress.watched_through_at is None:
        return False
    if not quiz_passed(progress):
        return False
    now = now or utcnow()
    recording = progress.recording
    lesson = missed_lesson(progress.member, recording)
    if lesson is not None:
        attendance = db.session.scalar(
            sa.select(Attendance).where(
                Attendance.member_id == progress.member_id, Attendance.lesson_id == lesson.id
            )
        )
        if attendance is None:
            attendance = Attendance(member_id=progress.member_id, lesson_id=lesson.id)
            db.session.add(attendance)
        attendance.status = AttendanceStatus.PRESENT
        attendance.method = AttendanceMethod.ONLINE
        attendance.recorded_by_id = None
        attendance.recorded_at = now
        progress.made_up = True
        progress.credited_hours = Decimal(0)
        db.session.flush()
        refresh_totals({progress.member_id}, {lesson.session_id})
    elif recording.material.lesson is not None and is_enrolled_in_session(
        progress.member, recording.material.lesson.session_id
    ):
        progress.credited_hours = Decimal(0)  # attended in person: the lesson already counts
    else:
        progress.credited_hours = hours_for(recording, quiz_passed=recording.quiz is not None)
    progress.credited_at = now
    db.session.flush()
    record_audit(
        "online.credited",
        "member",
        progress.member_id,
        {
            "recording": recording.id,
            "hours": str(progress.credited_hours),
            "made_up_lesson": lesson.id if lesson is not None else None,
        },
    )
    return True


def state_of(progress: ViewingProgress) -> dict:
    return {
        "position": progress.position_seconds,
        "watched": progress.watched_seconds,
        "percent": percent(progress.recording, progress),
        "watched_through": progress.watched_through_at is not None,
        "credited": progress.credited_at is not None,
    }
