"""Online study: who may watch what, the hours rule, recordings, what each member may study
(a missed lesson's recording first), and the online hours other features read. Crediting
playback as it is watched is in `playback`."""

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

from lms.attendance.hours import HoursLine, year_bounds
from lms.attendance.models import ATTENDED, Attendance
from lms.audit.services import record_audit
from lms.auth.models import Role, User
from lms.clock import local_zone
from lms.extensions import db
from lms.materials.models import Material, MaterialVersion
from lms.materials.services import can_view_material
from lms.online.models import CreditCategory, Recording, ViewingProgress
from lms.org.models import Member
from lms.quizzes.models import Quiz, QuizStatus
from lms.sessions.services import is_enrolled_in_session
from lms.settings import Setting

MAX_DURATION_SECONDS = 86400


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
