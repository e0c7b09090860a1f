"""Online study: who may watch what, crediting playback only as real time passes, the hours
rule, and making up a missed lesson as its attendance."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import BinaryIO

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from lms.attendance.models import ATTENDED, Attendance, AttendanceMethod, AttendanceStatus
from lms.attendance.services import HoursLine, refresh_totals, year_bounds
from lms.audit.services import record_audit
from lms.auth.models import Role, User
from lms.clock import local_zone
from lms.database import utcnow
from lms.extensions import db
from lms.materials.models import Material, MaterialVersion
from lms.materials.services import can_view_material
from lms.online.models import CreditCategory, Recording, ViewingProgress
from lms.org.models import Member
from lms.quizzes.attempts import counting_attempt
from lms.quizzes.models import Quiz, QuizStatus
from lms.sessions.services import is_enrolled_in_session
from lms.settings import Setting

# The page beats every 10 s while the video plays and the tab is visible.
TOLERANCE_SECONDS = 3.0  # network jitter between the position read and the request arriving
MAX_GAP_SECONDS = 60.0  # a longer silence (paused, hidden tab, closed) starts a new stretch
DONE_SHARE = 0.95  # watched through: this share of the running time seen played
MAX_DURATION_SECONDS = 86400


class HeartbeatRefused(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --- access ----------------------------------------------------------------------------------


def manages_online(user: User) -> bool:
    return user.has_role(Role.ORGANIZER)


def can_watch(user: User, recording: Recording) -> bool:
    """Whoever may see the recording's material (enrolment and visibility decide)."""
    material = recording.material
    return material.deleted_at is None and can_view_material(user, material)


# --- the credit rule -------------------------------------------------------------------------

DEFAULT_RULES = {
    "course_minutes": 30,  # this long or longer: a course
    "micro_minutes": 15,  # shorter than this: a micro-course; in between: a short course
    "course": "1",
    "short": "0.5",
    "micro": "0.25",
    "quiz": "0.5",  # added when the recording's quiz is passed
}
RULES_KEY = "online_credit_rules"


def credit_rules() -> dict:
    setting = db.session.get(Setting, RULES_KEY)
    return {**DEFAULT_RULES, **(setting.value if setting else {})}


def save_credit_rules(rules: dict) -> None:
    setting = db.session.get(Setting, RULES_KEY) or Setting(key=RULES_KEY)
    value = {k: format(v, "f") if isinstance(v, Decimal) else v for k, v in rules.items()}
    record_audit("settings.online_credit_rules", "setting", RULES_KEY, value)
    setting.value = value
    db.session.add(setting)
    db.session.flush()


def category_for(duration_seconds: int, rules: dict | None = None) -> CreditCategory:
    rules = rules or credit_rules()
    if duration_seconds >= int(rules["course_minutes"]) * 60:
        return CreditCategory.COURSE
    if duration_seconds >= int(rules["micro_minutes"]) * 60:
        return CreditCategory.SHORT
    return CreditCategory.MICRO


def recording_category(recording: Recording, rules: dict | None = None) -> CreditCategory:
    return recording.credit_category or category_for(recording.duration_seconds, rules)


def hours_for(recording: Recording, quiz_passed: bool, rules: dict | None = None) -> Decimal:
    rules = rules or credit_rules()
    hours = Decimal(rules[recording_category(recording, rules).value])
    if recording.quiz_id is not None and quiz_passed:
        hours += Decimal(rules["quiz"])
    return hours


# --- recordings ------------------------------------------------------------------------------


def mp4_duration(stream: BinaryIO) -> int | None:
    """The running time in whole seconds from an MP4's `moov/mvhd` box, or None."""

    def boxes(end: int):
        while stream.tell() + 8 <= end:
            start = stream.tell()
            size, kind = struct.unpack(">I4s", stream.read(8))
            if size == 1:
                size = struct.unpack(">Q", stream.read(8))[0]
            elif size == 0:
                size = end - start
            if size < 8:
                return
            yield kind, start, size
            stream.seek(start + size)

    try:
        end = stream.seek(0, 2)
        stream.seek(0)
        for kind, start, size in boxes(end):
            if kind != b"moov":
                continue
            stream.seek(start + 8)
            for inner, inner_start, _size in boxes(start + size):
                if inner != b"mvhd":
                    continue
                stream.seek(inner_start + 8)
                version = stream.read(1)[0]
                stream.read(3)
                if version == 1:
                    _c, _m, scale, length = struct.unpack(">QQIQ", stream.read(28))
                else:
                    _c, _m, scale, length = struct.unpack(">IIII", stream.read(16))
                return max(1, round(length / scale)) if scale else None
    except (struct.error, OSError, IndexError):
        return None
    return None


def video_materials() -> list[Material]:
    """Live materials whose current version is an MP4, for the organizer to pick from."""
    return [
        material
        for material in db.session.scalars(
            sa.select(Material)
            .where(Material.deleted_at.is_(None))
            .order_by(Material.created_at.desc())
        )
        if material.current.kind == "mp4"
    ]


def quiz_problem(quiz: Quiz | None, material: Material) -> str | None:
    """A recording's quiz is a published quiz of its course or of its lesson's session."""
    if quiz is None:
        return None
    same = quiz.course_id == material.taught_course.id or (
        material.lesson is not None and quiz.session_id == material.lesson.session_id
    )
    if not same:
        return _("测试须属于同一课程或同一期次。")
    if quiz.status is not QuizStatus.PUBLISHED:
        return _("测试尚未发布。")
    return None


def create_recording(
    user: User,
    material: Material,
    title: str,
    duration_seconds: int,
    quiz: Quiz | None,
    credit_category: CreditCategory | None,
) -> Recording:
    recording = Recording(
        title=title or material.title,
        version=material.current,
        duration_seconds=duration_seconds,
        quiz=quiz,
        credit_category=credit_category,
        created_by_id=user.id,
    )
    db.session.add(recording)
    db.session.flush()
    record_audit(
        "online.recording_created",
        "recording",
        recording.id,
        {"material": material.id, "version": material.current.number, "seconds": duration_seconds},
    )
    return recording


# --- what a member may study ------------------------------------------------------------------


def missed_lesson(member: Member, recording: Recording):
    """The lesson this recording makes up for `member`: a lesson of a session they are in
    that they did not attend. None when it is not a make-up."""
    lesson = recording.material.lesson
    if lesson is None or not is_enrolled_in_session(member, lesson.session_id):
        return None
    attended = db.session.scalar(
        sa.select(Attendance.id).where(
            Attendance.member_id == member.id,
            Attendance.lesson_id == lesson.id,
            Attendance.status.in_(ATTENDED),
        )
    )
    return None if attended else lesson


@dataclass
class StudyItem:
    recording: Recording
    progress: ViewingProgress | None
    make_up: bool

    @property
    def percent(self) -> int:
        return percent(self.recording, self.progress)


def percent(recording: Recording, progress: ViewingProgress | None) -> int:
    if progress is None:
        return 0
    return min(100, math.floor(100 * progress.watched_seconds / recording.duration_seconds))


def study_list(user: User) -> list[StudyItem]:
    """The recordings `user` may watch: their missed lessons' recordings (补学) first, then the
    rest, newest first within each."""
    member = user.member
    recordings = db.session.scalars(
        sa.select(Recording)
        .join(MaterialVersion, MaterialVersion.id == Recording.material_version_id)
        .join(Material, Material.id == MaterialVersion.material_id)
        .where(Material.deleted_at.is_(None))
        .options(joinedload(Recording.version).joinedload(MaterialVersion.material))
        .order_by(Recording.created_at.desc(), Recording.id.desc())
    ).all()
    progress = {}
    if member is not None:
        progress = {
            p.recording_id: p
            for p in db.session.scalars(
                sa.select(ViewingProgress).where(ViewingProgress.member_id == member.id)
            )
        }
    items = []
    for recording in recordings:
        if not can_watch(user, recording):
            continue
        mine = progress.get(recording.id)
        make_up = member is not None and (
            (mine is not None and mine.made_up) or missed_lesson(member, recording) is not None
        )
        items.append(StudyItem(recording, mine, make_up))
    return sorted(items, key=lambda item: not item.make_up)


# --- progress --------------------------------------------------------------------------------


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


# --- the organizer's view, and hours for other features --------------------------------------


def study_rows(recording_id: int | None = None) -> list[ViewingProgress]:
    stmt = (
        sa.select(ViewingProgress)
        .options(
            joinedload(ViewingProgress.member).joinedload(Member.branch),
            joinedload(ViewingProgress.recording),
        )
        .order_by(ViewingProgress.last_heartbeat_at.desc().nulls_last(), ViewingProgress.id)
    )
    if recording_id is not None:
        stmt = stmt.where(ViewingProgress.recording_id == recording_id)
    return list(db.session.scalars(stmt).unique())


def online_credits(member_id: int, year: int) -> list[ViewingProgress]:
    """The recordings credited to a member in a calendar year (in the plant's zone)."""
    start, end = year_bounds(year)
    return list(
        db.session.scalars(
            sa.select(ViewingProgress)
            .options(joinedload(ViewingProgress.recording))
            .where(
                ViewingProgress.member_id == member_id,
                ViewingProgress.credited_at >= start,
                ViewingProgress.credited_at < end,
                ViewingProgress.credited_hours > 0,
            )
            .order_by(ViewingProgress.credited_at)
        )
    )


def ledger_lines(member: Member, year: int) -> list[HoursLine]:
    """Receives `hours_ledger_lines`: the member's online study credited in the year."""
    return [
        HoursLine(
            day=local_day(progress.credited_at),
            what=progress.recording.title,
            hours=progress.credited_hours,
            kind="online",
        )
        for progress in online_credits(member.id, year)
        if progress.credited_at is not None  # always: only credited viewings are returned
    ]


def online_hours(member_id: int, year: int) -> Decimal:
    """Hours earned by online study in a calendar year. Made-up lessons are not included:
    they count as the lesson's attendance, with the lesson's hours."""
    start, end = year_bounds(year)
    total = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(ViewingProgress.credited_hours), 0)).where(
            ViewingProgress.member_id == member_id,
            ViewingProgress.credited_at >= start,
            ViewingProgress.credited_at < end,
        )
    ).scalar_one()
    return Decimal(total).quantize(Decimal("0.01"))


def local_day(moment: datetime) -> date:
    return moment.astimezone(local_zone()).date()


def to_local_text(moment: datetime | None) -> str:
    return moment.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M") if moment else ""


def duration_label(seconds: int) -> str:
    return str(timedelta(seconds=seconds))
