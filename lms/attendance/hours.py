"""The hours ledger: a member's hours of a year (lessons attended, credited hours, online
study) and the annual targets they are measured against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from lms import signals
from lms.attendance.models import ATTENDED, Attendance, HoursCredit
from lms.audit.services import record_audit
from lms.auth.models import User
from lms.catalog.models import Course
from lms.clock import local_zone
from lms.extensions import db
from lms.org.models import Category, Member, branch_secretaries
from lms.sessions.models import Lesson
from lms.settings import Setting

# 32 学时 a year for every member: 《中国共产党党员教育管理工作条例》(2019) 第二十条. 56 学时 for
# the secretaries and committee members of grassroots party organisations (基层党组织书记和班子
# 成员): 《2019—2023年全国党员教育培训工作规划》. Both are settings; the settings page cites them.
DEFAULT_TARGETS: dict[str, Any] = {
    "categories": {category.value: 32 for category in Category},
    "secretary": 56,  # branch secretaries and branch committee members (支部委员)
}


def hours_targets() -> dict:
    setting = db.session.get(Setting, "hours_targets")
    if setting is None:
        return DEFAULT_TARGETS
    return {
        "categories": {**DEFAULT_TARGETS["categories"], **setting.value.get("categories", {})},
        "secretary": setting.value.get("secretary", DEFAULT_TARGETS["secretary"]),
    }


def save_hours_targets(targets: dict) -> None:
    setting = db.session.get(Setting, "hours_targets") or Setting(key="hours_targets")
    record_audit("settings.hours_targets", "setting", "hours_targets", targets)
    setting.value = targets
    db.session.add(setting)
    db.session.flush()


def is_secretary(member: Member) -> bool:
    stmt = sa.select(branch_secretaries.c.branch_id).where(
        branch_secretaries.c.member_id == member.id
    )
    return db.session.scalar(stmt.limit(1)) is not None


def secretary_member_ids() -> set[int]:
    return set(db.session.scalars(sa.select(branch_secretaries.c.member_id)))


def annual_target(
    member: Member, targets: dict | None = None, secretaries: set[int] | None = None
) -> int:
    """The secretaries' target (56) for a branch secretary or committee member (支部委员),
    whatever their category; else their category's target (32). `targets` and `secretaries`
    (secretary_member_ids()) may be given when computing many members' targets."""
    targets = targets or hours_targets()
    secretary = member.id in secretaries if secretaries is not None else is_secretary(member)
    if member.committee_member or secretary:
        return int(targets["secretary"])
    return int(targets["categories"].get(member.category.value, 32))


def year_bounds(year: int) -> tuple[datetime, datetime]:
    zone = local_zone()
    return datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)


@dataclass
class HoursLine:
    day: date
    what: str
    hours: Decimal
    kind: str  # "lesson", "credit" or "online"


def hours_ledger(member: Member, year: int) -> list[HoursLine]:
    start, end = year_bounds(year)
    lines = [
        HoursLine(
            day=lesson.day,
            what=f"{lesson.session.title} · {course.title}",
            hours=course.hours,
            kind="lesson",
        )
        for lesson, course in db.session.execute(
            sa.select(Lesson, Course)
            .join(Attendance, Attendance.lesson_id == Lesson.id)
            .join(Course, Course.id == Lesson.course_id)
            .where(
                Attendance.member_id == member.id,
                Attendance.status.in_(ATTENDED),
                Lesson.starts_at >= start,
                Lesson.starts_at < end,
            )
            .order_by(Lesson.starts_at)
        )
    ]
    lines += [
        HoursLine(day=credit.credited_on, what=credit.reason, hours=credit.hours, kind="credit")
        for credit in db.session.scalars(
            sa.select(HoursCredit).where(
                HoursCredit.member_id == member.id,
                HoursCredit.credited_on >= date(year, 1, 1),
                HoursCredit.credited_on < date(year + 1, 1, 1),
            )
        )
    ]
    for _receiver, more in signals.hours_ledger_lines.send(member, year=year):
        lines += more
    return sorted(lines, key=lambda line: line.day)


def credit_hours(member: Member, hours: Decimal, reason: str, day: date, user: User) -> HoursCredit:
    credit = HoursCredit(
        member_id=member.id, hours=hours, reason=reason, credited_on=day, approved_by_id=user.id
    )
    db.session.add(credit)
    db.session.flush()
    record_audit("hours.credited", "member", member.id, {"hours": str(hours), "reason": reason})
    return credit
