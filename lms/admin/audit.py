"""How the audit log reads: labels for actions and details, names for people and objects, and
the filtered list."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from lms.admin.services import matching_users
from lms.audit.models import AuditLog
from lms.auth.models import Role, User
from lms.catalog.models import Course, CourseStatus, Theme
from lms.certificates.models import Certificate
from lms.clock import from_local, to_local
from lms.enums import LabelledEnum
from lms.extensions import db
from lms.materials.models import Material
from lms.org.models import Branch, Category, Department, Gender, Member, Shift
from lms.quizzes.models import Question, QuestionBank, Quiz, QuizStatus
from lms.rotation.models import RotationCycle
from lms.sessions.models import (
    Enrollment,
    EnrollmentStatus,
    Lesson,
    SessionStatus,
    TrainingSession,
)

# The one place an action code becomes words. A code missing here is shown as it is.
ACTION_LABELS = {
    "user.created": _l("新建账号"),
    "user.updated": _l("修改账号"),
    "user.password_reset": _l("重置密码"),
    "user.password_changed": _l("修改自己的密码"),
    "user.directory_created": _l("通过公司目录首次登录并新建账号"),
    "user.directory_linked": _l("通过公司目录首次登录并关联已有账号"),
    "member.created": _l("新增学员"),
    "member.updated": _l("修改学员信息"),
    "member.activated": _l("启用学员"),
    "member.deactivated": _l("停用学员"),
    "members.imported": _l("导入花名册"),
    "course.created": _l("新建课程"),
    "course.updated": _l("修改课程"),
    "course.status": _l("更改课程状态"),
    "theme.created": _l("新增主题"),
    "session.created": _l("新建期次"),
    "session.updated": _l("修改期次"),
    "session.status": _l("更改期次状态"),
    "session.planned_from": _l("按往期安排期次"),
    "lesson.created": _l("新增课次"),
    "lesson.updated": _l("修改课次"),
    "lesson.deleted": _l("删除课次"),
    "material.created": _l("上传课件"),
    "material.version": _l("上传课件新版本"),
    "material.deleted": _l("删除课件"),
    "attendance.changed": _l("修改考勤"),
    "hours.credited": _l("认定学时"),
    "settings.hours_targets": _l("修改年度学时目标"),
    "settings.evaluation_names": _l("修改评估结果是否显示姓名"),
    "settings.online_credit_rules": _l("修改线上学习学时规则"),
    "online.credited": _l("线上学习认定学时"),
    "online.recording_created": _l("新增线上学习录像"),
    "cycle.created": _l("新建轮训周期"),
    "cycle.updated": _l("修改轮训周期"),
    "cycle.planned": _l("生成轮训安排"),
    "cycle.moved": _l("调整学员批次"),
    "cycle.confirmed": _l("确认轮训安排"),
    "cycle.plan_discarded": _l("放弃未确认的轮训安排"),
    "blackout.created": _l("登记不可参训日期"),
    "blackout.deleted": _l("删除不可参训日期"),
    "enrollment.leave_requested": _l("申请请假"),
    "enrollment.leave_decided": _l("审批请假"),
    "enrollment.absent": _l("记为缺席"),
    "enrollment.makeup": _l("安排补训"),
    "bank.created": _l("新建题库"),
    "bank.authors": _l("更改题库出题人"),
    "bank.imported": _l("导入题目"),
    "question.created": _l("新增题目"),
    "question.updated": _l("修改题目"),
    "question.versioned": _l("题目生成新版本"),
    "question.archived": _l("归档题目"),
    "question.regraded": _l("重新评分"),
    "quiz.created": _l("新建测试"),
    "quiz.updated": _l("修改测试"),
    "quiz.status": _l("更改测试状态"),
    "certificate.issued": _l("颁发证书"),
    "certificate.revoked": _l("撤销证书"),
    "certificate.reissued": _l("换发证书"),
    "certificate.template_saved": _l("保存证书模板"),
    "certificate.template_default": _l("恢复默认证书模板"),
}

DETAIL_LABELS = {
    "username": _l("用户名"),
    "display_name": _l("显示名称"),
    "roles": _l("角色"),
    "active": _l("启用"),
    "member_id": _l("关联学员"),
    "member": _l("学员"),
    "staff_no": _l("工号"),
    "dn": _l("公司目录条目"),
    "name": _l("名称"),
    "gender": _l("性别"),
    "department_id": _l("部门"),
    "branch_id": _l("党支部"),
    "shift_id": _l("班组"),
    "category": _l("培训对象类别"),
    "joined_party_on": _l("入党日期"),
    "code": _l("编号"),
    "title": _l("标题"),
    "status": _l("状态"),
    "reason": _l("原因"),
    "serial": _l("证书编号"),
    "old_name": _l("原姓名"),
    "new_name": _l("新姓名"),
    "session": _l("期次"),
    "cycle": _l("轮训周期"),
    "source": _l("参照期次"),
    "to_session": _l("补训期次"),
    "from": _l("原期次"),
    "to": _l("新期次"),
    "course": _l("课程"),
    "hours": _l("学时"),
    "cells": _l("修改的考勤条数"),
    "created": _l("新增"),
    "updated": _l("更新"),
    "unchanged": _l("未变"),
    "accounts": _l("新建账号"),
    "number": _l("版本"),
    "version": _l("版本"),
    "ref": _l("题目编号"),
    "key_changed": _l("答案已改"),
    "answers": _l("重新评分的作答"),
    "attempts": _l("涉及的答卷"),
    "authors": _l("出题人"),
    "placed": _l("已安排"),
    "unplaced": _l("未能安排"),
    "called": _l("调训人数"),
    "approved": _l("准假"),
    "was": _l("原状态"),
    "sha256": _l("文件校验值"),
    "versions": _l("版本数"),
    "categories": _l("各类别学时目标"),
    "secretary": _l("书记和班子成员学时目标"),
}

# Actions whose every detail is a change, [before, after]; elsewhere only these keys are.
CHANGE_ACTIONS = {"user.updated", "member.updated"}
CHANGE_KEYS = {"status", "authors"}

# How an object of each target type (or a detail holding its id) is named.
NAMED: dict[str, tuple[type[Any], Callable[[Any], str]]] = {
    "user": (User, lambda user: user.name),
    "member": (Member, lambda member: f"{member.name}（{member.staff_no}）"),
    "certificate": (Certificate, lambda cert: f"{cert.serial} {cert.name}"),
    "session": (TrainingSession, lambda session: session.title),
    "cycle": (RotationCycle, lambda cycle: cycle.name),
    "course": (Course, lambda course: course.title),
    "theme": (Theme, lambda theme: theme.name),
    "lesson": (
        Lesson,
        lambda lesson: (
            f"{lesson.session.title} {lesson.course.title} "
            f"{to_local(lesson.starts_at):%Y-%m-%d %H:%M}"
        ),
    ),
    "enrollment": (
        Enrollment,
        lambda enrollment: f"{enrollment.member.name} · {enrollment.session.title}",
    ),
    "material": (Material, lambda material: material.title),
    "bank": (QuestionBank, lambda bank: bank.name),
    "question": (Question, lambda question: question.ref or f"#{question.id}"),
    "quiz": (Quiz, lambda quiz: quiz.title),
    "department": (Department, lambda department: department.name),
    "branch": (Branch, lambda branch: branch.name),
    "shift": (Shift, lambda shift: shift.name),
}
TARGET_LABELS = {
    "user": _l("用户"),
    "member": _l("学员"),
    "certificate": _l("证书"),
    "session": _l("期次"),
    "cycle": _l("轮训周期"),
    "course": _l("课程"),
    "theme": _l("主题"),
    "lesson": _l("课次"),
    "enrollment": _l("调训"),
    "material": _l("课件"),
    "bank": _l("题库"),
    "question": _l("试题"),
    "quiz": _l("测试"),
    "roster": _l("花名册文件"),
    "template": _l("证书模板"),
    "setting": _l("设置"),
}
# Details that hold the id of an object of this type.
DETAIL_IDS = {
    "member_id": "member",
    "member": "member",
    "session": "session",
    "source": "session",
    "to_session": "session",
    "from": "session",
    "to": "session",
    "cycle": "cycle",
    "course": "course",
    "department_id": "department",
    "branch_id": "branch",
    "shift_id": "shift",
    "authors": "user",
}
VALUE_LABELS: dict[str, type[LabelledEnum]] = {
    "roles": Role,
    "category": Category,
    "gender": Gender,
    "was": EnrollmentStatus,
}
STATUS_LABELS_BY_TYPE: dict[str, type[LabelledEnum]] = {
    "course": CourseStatus,
    "quiz": QuizStatus,
    "session": SessionStatus,
}


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def action_choices() -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label in ACTION_LABELS.items()]


@dataclass
class AuditFilter:
    action: str = ""
    who: str = ""  # part of the actor's username, name or 工号
    start: date | None = None
    end: date | None = None


def audit_query(criteria: AuditFilter) -> sa.Select:
    stmt = sa.select(AuditLog).options(selectinload(AuditLog.actor).selectinload(User.member))
    if criteria.action:
        stmt = stmt.where(AuditLog.action == criteria.action)
    if criteria.who:
        stmt = stmt.where(AuditLog.actor.has(matching_users(criteria.who)))
    if criteria.start:  # dates are the plant's days, stored times are UTC
        stmt = stmt.where(AuditLog.at >= from_local(criteria.start, time()))
    if criteria.end:
        stmt = stmt.where(AuditLog.at < from_local(criteria.end + timedelta(days=1), time()))
    return stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc())


@dataclass
class AuditRow:
    entry: AuditLog
    actor: str
    action: str
    target: str
    details: list[tuple[str, str]]


def readable_rows(entries: Iterable[AuditLog]) -> list[AuditRow]:
    """The entries as people read them: names instead of ids, labels instead of codes."""
    entries = list(entries)
    names = _Names()
    for entry in entries:
        names.want(entry.target_type, entry.target_id)
        for key, value in (entry.details or {}).items():
            if key in DETAIL_IDS:
                for ident in _flat(value):
                    names.want(DETAIL_IDS[key], ident)
    names.load()
    return [
        AuditRow(
            entry=entry,
            actor=entry.actor.name if entry.actor else _("系统"),
            action=action_label(entry.action),
            target=_target(entry, names),
            details=_details(entry, names),
        )
        for entry in entries
    ]


def _flat(value: Any) -> list:
    if isinstance(value, list):
        return [item for part in value for item in _flat(part)]
    return [value]


class _Names:
    """Names of the objects a page of entries mentions, loaded with one query per type."""

    def __init__(self) -> None:
        self.wanted: dict[str, set[int]] = defaultdict(set)
        self.found: dict[tuple[str, int], str] = {}

    def want(self, kind: str, ident: object) -> None:
        if kind in NAMED and str(ident).isdigit():
            self.wanted[kind].add(int(str(ident)))

    def load(self) -> None:
        for kind, idents in self.wanted.items():
            model, name = NAMED[kind]
            for obj in db.session.scalars(sa.select(model).where(model.id.in_(idents))):
                self.found[kind, obj.id] = name(obj)

    def get(self, kind: str, ident: object) -> str | None:
        if not str(ident).isdigit():
            return None
        return self.found.get((kind, int(str(ident))))


def _target(entry: AuditLog, names: _Names) -> str:
    kind = str(TARGET_LABELS.get(entry.target_type, entry.target_type))
    name = names.get(entry.target_type, entry.target_id)
    if name is None and entry.target_type in NAMED:
        name = _("（已删除）")
    elif name is None:
        name = "" if entry.target_type == "template" else entry.target_id
    return f"{kind} {name}".strip()


def _details(entry: AuditLog, names: _Names) -> list[tuple[str, str]]:
    rows = []
    for key, value in (entry.details or {}).items():
        label = str(DETAIL_LABELS.get(key, key))
        changed = entry.action in CHANGE_ACTIONS or key in CHANGE_KEYS
        if changed and isinstance(value, list) and len(value) == 2:
            text = f"{_value(entry, key, value[0], names)} → {_value(entry, key, value[1], names)}"
        else:
            text = _value(entry, key, value, names)
        rows.append((label, text))
    return rows


def _value(entry: AuditLog, key: str, value: Any, names: _Names) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if key == "cells" and isinstance(value, list):
        return str(len(value))
    if key == "versions" and isinstance(value, list):
        return str(len(value))
    if key == "sha256" and isinstance(value, str):
        return value[:12] + "…"
    if key in DETAIL_IDS and not isinstance(value, list):
        return names.get(DETAIL_IDS[key], value) or f"#{value}"
    if isinstance(value, list):
        return _("、").join(_value(entry, key, item, names) for item in value)
    if isinstance(value, dict):  # e.g. hours targets by category
        return "; ".join(
            f"{_value(entry, 'category', name, names) if key == 'categories' else name}: "
            f"{_value(entry, key, item, names)}"
            for name, item in value.items()
        )
    labels = VALUE_LABELS.get(key)
    if key == "status":
        labels = STATUS_LABELS_BY_TYPE.get(entry.target_type)
    if labels is not None:
        for option in labels:
            if option == value:
                return option.label
    return str(value)
