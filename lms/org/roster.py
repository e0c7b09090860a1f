"""Roster (花名册) import and export: .xlsx or .csv keyed by 工号, all-or-nothing, idempotent."""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePath
from typing import IO

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from lms.audit.services import record_audit
from lms.auth.models import Role, User
from lms.excel import (
    MAX_COLUMNS,
    SpreadsheetError,
    build_workbook,
    cell_as_text,
    read_sheet_rows,
    too_many_rows,
)
from lms.extensions import db
from lms.org.models import (
    CATEGORY_ROSTER_NAMES,
    GENDER_ROSTER_NAMES,
    Branch,
    Category,
    Department,
    Gender,
    Member,
    Shift,
)
from lms.org.services import MEMBER_FIELDS, MemberData
from lms.text import MAX_STAFF_NO, STAFF_NO_PATTERN, decode_text, excerpt, text_problem

# (field, header in the template, required, other headers accepted)
COLUMNS: list[tuple[str, str, bool, tuple[str, ...]]] = [
    ("staff_no", "工号", True, ("员工编号", "staff_no", "staff no")),
    ("name", "姓名", True, ("name",)),
    ("gender", "性别", True, ("gender",)),
    ("department", "部门", True, ("department",)),
    ("branch", "党支部", True, ("支部", "所在支部", "branch")),
    ("shift", "班组", False, ("值", "班次", "shift")),
    ("category", "类别", True, ("培训对象类别", "人员类别", "category")),
    ("joined_party_on", "入党日期", False, ("入党时间", "joined_party_on", "joined")),
    ("active", "在册", False, ("状态", "active")),
    ("committee_member", "支部委员", False, ("支委", "committee_member", "committee")),
]
TEMPLATE_HEADER = [header for _field, header, _required, _aliases in COLUMNS]
MAX_NAME = 64
PARTY_FOUNDED = date(1921, 7, 1)
TRUE_WORDS = {"是", "在册", "有效", "1", "true", "yes", "y", "active", "√"}
FALSE_WORDS = {"否", "不在册", "停用", "离职", "退休", "0", "false", "no", "n", "inactive", "×"}
GENDER_WORDS = {
    **{name: gender for gender, name in GENDER_ROSTER_NAMES.items()},
    "male": Gender.MALE,
    "m": Gender.MALE,
    "female": Gender.FEMALE,
    "f": Gender.FEMALE,
}
CATEGORY_WORDS = {
    **{name: category for category, name in CATEGORY_ROSTER_NAMES.items()},
    **{category.value: category for category in Category},
}
ONE_TIME_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"


def name_problem(name: str) -> str | None:
    """Why a member's name cannot be stored: the member form and the roster import both ask."""
    if problem := text_problem(_("姓名"), name, MAX_NAME):
        return problem
    if any(ch in "<>" for ch in name):
        return _("姓名含有不允许的字符。")
    return None


class RosterFileError(Exception):
    """The file as a whole cannot be read (wrong type, no header, too many rows)."""


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str


@dataclass
class RosterRow(MemberData):
    """A validated roster line: the member's data, the line number and the 在册 flag. Without a
    支部委员 column, `committee_member` is None: the members' flags are left as they are."""

    row: int = 0
    active: bool = True
    committee_member: bool | None = None  # type: ignore[assignment]


@dataclass
class Credential:
    staff_no: str
    name: str
    branch: str
    password: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    credentials: list[Credential] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


Progress = Callable[[int], None]


# --- reading --------------------------------------------------------------------------------
def read_rows(filename: str, stream: IO[bytes]) -> Iterator[tuple[int, list[object]]]:
    """Yield (spreadsheet row number, cells) from an .xlsx or .csv file, header first; at most
    the header and ROSTER_MAX_ROWS rows, empty or not, and the first MAX_COLUMNS columns."""
    max_rows = current_app.config["ROSTER_MAX_ROWS"]
    suffix = PurePath(filename or "").suffix.lower()
    if suffix == ".xlsx":
        try:
            yield from read_sheet_rows(stream, max_rows)
        except SpreadsheetError as exc:
            raise RosterFileError(str(exc)) from exc
    elif suffix == ".csv":
        yield from _read_csv(stream.read(), max_rows)
    else:
        raise RosterFileError(_("只支持 .xlsx 或 .csv 文件。"))


def _read_csv(data: bytes, max_rows: int) -> Iterator[tuple[int, list[object]]]:
    text = decode_text(data)
    if text is None:
        raise RosterFileError(_("无法识别 CSV 文件的编码，请保存为 UTF-8 或 GBK。"))
    if "\x00" in text:
        raise RosterFileError(_("该文件不是文本格式的 CSV 文件。"))
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            if number > max_rows + 1:
                raise RosterFileError(too_many_rows(max_rows))
            yield number, list(row[:MAX_COLUMNS])
    except csv.Error as exc:
        raise RosterFileError(_("CSV 文件格式有误：%(reason)s", reason=str(exc))) from exc


# --- parsing --------------------------------------------------------------------------------
def _header_map(header: list[object]) -> tuple[dict[str, int], list[str]]:
    names = {}
    for field_name, title, _required, aliases in COLUMNS:
        for accepted in (title, *aliases):
            names[accepted.lower()] = field_name
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        key = names.get(cell_as_text(cell).lower())
        if key and key not in positions:
            positions[key] = index
    missing = [
        title
        for field_name, title, required, _a in COLUMNS
        if required and field_name not in positions
    ]
    return positions, missing


def _parse_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_as_text(value)
    if not text:
        return None
    match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text)
    if not match:
        raise ValueError(text)
    return date(*(int(part) for part in match.groups()))


class _Lookups:
    """Name → id maps for the organisation, loaded once per import."""

    def __init__(self) -> None:
        self.departments = {d.name: d.id for d in db.session.scalars(sa.select(Department))}
        self.branches = {
            b.name: (b.id, b.department_id) for b in db.session.scalars(sa.select(Branch))
        }
        self.shifts = {s.name: s.id for s in db.session.scalars(sa.select(Shift))}


def parse_rows(
    rows: Iterable[tuple[int, list[object]]], progress: Progress | None = None
) -> tuple[list[RosterRow], list[RowError]]:
    """Validate every row; return the good rows and every error (with its row number)."""
    iterator = iter(rows)
    header_row = next(iterator, None)
    if header_row is None:
        raise RosterFileError(_("文件是空的。"))
    positions, missing = _header_map(header_row[1])
    if missing:
        raise RosterFileError(
            _("缺少必填列：%(columns)s。请使用下载的模板。", columns="、".join(missing))
        )
    lookups = _Lookups()
    parsed: list[RosterRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    count = 0
    for number, cells in iterator:
        if not any(cell_as_text(cell) for cell in cells):
            continue
        count += 1
        row, row_errors = _parse_row(number, cells, positions, lookups, seen)
        errors.extend(row_errors)
        if row is not None:
            parsed.append(row)
        if progress:
            progress(1)
    if count == 0:
        raise RosterFileError(_("文件中没有数据行。"))
    return parsed, errors


def _parse_row(
    number: int,
    cells: list[object],
    positions: dict[str, int],
    lookups: _Lookups,
    seen: dict[str, int],
) -> tuple[RosterRow | None, list[RowError]]:
    def cell(name: str) -> object:
        index = positions.get(name)
        return cells[index] if index is not None and index < len(cells) else None

    errors: list[RowError] = []

    def error(column: str, message: str) -> None:
        errors.append(RowError(number, column, message))

    staff_no = cell_as_text(cell("staff_no"))
    if not staff_no:
        error("工号", _("工号不能为空。"))
    elif len(staff_no) > MAX_STAFF_NO:
        error("工号", _("工号超过 %(max)s 个字符。", max=MAX_STAFF_NO))
    elif not STAFF_NO_PATTERN.match(staff_no):
        error("工号", _("工号只能包含字母、数字、下划线和连字符：%(value)s", value=staff_no))
    elif staff_no in seen:
        error(
            "工号",
            _("工号 %(staff_no)s 与第 %(row)s 行重复。", staff_no=staff_no, row=seen[staff_no]),
        )
    else:
        seen[staff_no] = number

    name = cell_as_text(cell("name"))
    if not name:
        error("姓名", _("姓名不能为空。"))
    elif problem := name_problem(name):
        error("姓名", problem)

    gender_text = cell_as_text(cell("gender"))
    gender = GENDER_WORDS.get(gender_text.lower())
    if gender is None:
        error("性别", _("性别应为“男”或“女”：%(value)s", value=excerpt(gender_text) or _("（空）")))

    department_name = cell_as_text(cell("department"))
    department_id = lookups.departments.get(department_name)
    if department_id is None:
        error("部门", _("未知部门：%(value)s", value=excerpt(department_name) or _("（空）")))

    branch_name = cell_as_text(cell("branch"))
    branch = lookups.branches.get(branch_name)
    if branch is None:
        error("党支部", _("未知党支部：%(value)s", value=excerpt(branch_name) or _("（空）")))
    elif department_id is not None and branch[1] != department_id:
        error(
            "党支部",
            _(
                "党支部“%(branch)s”不属于部门“%(department)s”。",
                branch=excerpt(branch_name),
                department=excerpt(department_name),
            ),
        )

    shift_name = cell_as_text(cell("shift"))
    shift_id = None
    if shift_name:
        shift_id = lookups.shifts.get(shift_name)
        if shift_id is None:
            error("班组", _("未知班组：%(value)s", value=excerpt(shift_name)))

    category_text = cell_as_text(cell("category"))
    category = CATEGORY_WORDS.get(category_text) or CATEGORY_WORDS.get(category_text.lower())
    if category is None:
        error("类别", _("未知类别：%(value)s", value=excerpt(category_text) or _("（空）")))

    joined = None
    try:
        joined = _parse_date(cell("joined_party_on"))
    except ValueError:
        error(
            "入党日期",
            _(
                "日期格式应为 2020-07-01：%(value)s",
                value=excerpt(cell_as_text(cell("joined_party_on"))),
            ),
        )
    if joined is not None and not (PARTY_FOUNDED <= joined <= date.today()):
        error("入党日期", _("入党日期不在合理范围内：%(value)s", value=joined.isoformat()))

    active_text = cell_as_text(cell("active")).lower()
    active = True
    if active_text in FALSE_WORDS:
        active = False
    elif active_text and active_text not in TRUE_WORDS:
        error("在册", _("在册应为“是”或“否”：%(value)s", value=excerpt(active_text)))

    committee_member = None
    if "committee_member" in positions:
        committee_text = cell_as_text(cell("committee_member")).lower()
        committee_member = committee_text in TRUE_WORDS
        if committee_text and not committee_member and committee_text not in FALSE_WORDS:
            error("支部委员", _("支部委员应为“是”或“否”：%(value)s", value=excerpt(committee_text)))

    if errors:
        return None, errors
    # Each of these is None only after an error above.
    assert gender is not None and department_id is not None and branch is not None
    assert category is not None
    return (
        RosterRow(
            row=number,
            committee_member=committee_member,
            staff_no=staff_no,
            name=name,
            gender=gender,
            department_id=department_id,
            branch_id=branch[0],
            shift_id=shift_id,
            category=category,
            joined_party_on=joined,
            active=active,
        ),
        [],
    )


# --- applying -------------------------------------------------------------------------------
# What a roster line sets on a member: everything but the key, plus 在册.
_APPLIED_FIELDS = (*(f for f in MEMBER_FIELDS if f != "staff_no"), "active")


def _applied_fields(row: RosterRow) -> tuple[str, ...]:
    if row.committee_member is None:  # no 支部委员 column: the flags stay as they are
        return tuple(f for f in _APPLIED_FIELDS if f != "committee_member")
    return _APPLIED_FIELDS


def import_roster(
    filename: str,
    stream: IO[bytes],
    *,
    create_accounts: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate the whole file, then apply it; with any bad row, nothing is changed."""
    try:
        rows, errors = parse_rows(read_rows(filename, stream), progress)
    except RosterFileError as exc:
        return ImportResult(errors=[RowError(0, "", str(exc))])
    result = ImportResult(errors=errors)
    if errors:
        return result

    existing = {
        m.staff_no: m
        for m in db.session.scalars(sa.select(Member).options(selectinload(Member.user)))
    }
    if create_accounts:
        result.errors = _account_conflicts(
            {
                row.staff_no: row.row
                for row in rows
                if row.staff_no not in existing or existing[row.staff_no].user is None
            }
        )
        if result.errors:
            return result

    for row in rows:
        member = existing.get(row.staff_no)
        fields = _applied_fields(row)
        if member is None:
            member = Member(staff_no=row.staff_no, **{f: getattr(row, f) for f in fields})
            db.session.add(member)
            existing[row.staff_no] = member
            result.created += 1
        elif any(getattr(member, f) != getattr(row, f) for f in fields):
            for f in fields:
                setattr(member, f, getattr(row, f))
            result.updated += 1
        else:
            result.unchanged += 1
    db.session.flush()
    if create_accounts:
        result.credentials = _create_accounts([existing[row.staff_no] for row in rows])

    record_audit(
        "members.imported",
        "roster",
        PurePath(filename).name[:64],
        {
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "accounts": len(result.credentials),
        },
    )
    return result


def _account_conflicts(usernames: dict[str, int]) -> list[RowError]:
    """A 工号 already used as the login of an account not linked to that member blocks all."""
    taken = db.session.scalars(
        sa.select(User.username).where(User.username.in_(usernames)).order_by(User.username)
    )
    return [
        RowError(
            usernames[username],
            "工号",
            _("用户名 %(username)s 已被其他账号占用。", username=username),
        )
        for username in taken
    ]


def _create_accounts(members: list[Member]) -> list[Credential]:
    credentials = []
    for member in members:
        if member.user is not None or not member.active:
            continue
        password = "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(12))
        user = User(username=member.staff_no, member=member)
        user.set_one_time_password(password)
        user.set_roles({Role.TRAINEE})
        db.session.add(user)
        credentials.append(Credential(member.staff_no, member.name, member.branch.name, password))
    db.session.flush()
    return credentials


# --- writing --------------------------------------------------------------------------------
def template_workbook() -> bytes:
    example = [
        [
            "10001",
            "张三",
            "男",
            "发电一部",
            "发电一部第一党支部",
            "一值",
            "党员",
            "2015-07-01",
            "是",
            "否",
        ]
    ]
    notes = [
        [_("工号"), _("必填，唯一；字母、数字、下划线或连字符。重复导入按工号更新。")],
        [_("性别"), "男 / 女"],
        [_("类别"), " / ".join(CATEGORY_ROSTER_NAMES.values())],
        [_("入党日期"), _("可空，格式 2015-07-01")],
        [_("在册"), _("是 / 否，空为是")],
        [_("支部委员"), _("可空：是 / 否，空为否；没有此列时不改变已有的标记")],
    ]
    return build_workbook(
        [
            (_("花名册"), TEMPLATE_HEADER, example),
            (_("填写说明"), [_("列"), _("说明")], notes),
        ]
    )


def roster_rows(members: Iterable[Member]) -> Iterator[list[object]]:
    for m in members:
        yield [
            m.staff_no,
            m.name,
            GENDER_ROSTER_NAMES[m.gender],
            m.department.name,
            m.branch.name,
            m.shift.name if m.shift else "",
            CATEGORY_ROSTER_NAMES[m.category],
            m.joined_party_on or "",
            "是" if m.active else "否",
            "是" if m.committee_member else "否",
        ]


def roster_workbook(members: Iterable[Member]) -> bytes:
    return build_workbook([(_("花名册"), TEMPLATE_HEADER, roster_rows(members))])


def credentials_workbook(credentials: list[Credential]) -> bytes:
    header = [_("工号"), _("姓名"), _("党支部"), _("用户名"), _("初始密码")]
    # The login is the 工号; it gets its own column so the sheet reads as a hand-out.
    rows = [[c.staff_no, c.name, c.branch, c.staff_no, c.password] for c in credentials]
    return build_workbook([(_("初始密码"), header, rows)])
