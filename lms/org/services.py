"""Who may see which members, and the queries and changes on members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from lms.audit.services import record_audit
from lms.auth.access import is_organizer
from lms.auth.models import User
from lms.extensions import db
from lms.org.access import secretary_branch_ids
from lms.org.models import Branch, Category, Department, Gender, Member, Shift

MEMBER_FIELDS = (
    "staff_no",
    "name",
    "gender",
    "department_id",
    "branch_id",
    "shift_id",
    "category",
    "joined_party_on",
    "committee_member",
)


# --- queries ----------------------------------------------------------------------------------
@dataclass
class MemberFilter:
    q: str = ""
    department_id: int | None = None
    branch_id: int | None = None
    shift_id: int | None = None
    category: Category | None = None
    active: bool | None = True


def members_query(user: User, criteria: MemberFilter) -> sa.Select:
    """Members `user` may see that match `criteria`, ordered by 工号."""
    stmt = sa.select(Member).options(
        joinedload(Member.branch), joinedload(Member.department), joinedload(Member.shift)
    )
    stmt = _visible_to(user, stmt)
    if criteria.q:
        q = criteria.q.strip()
        stmt = stmt.where(
            sa.or_(
                Member.name.icontains(q, autoescape=True),
                Member.staff_no.icontains(q, autoescape=True),
            )
        )
    if criteria.department_id:
        stmt = stmt.where(Member.department_id == criteria.department_id)
    if criteria.branch_id:
        stmt = stmt.where(Member.branch_id == criteria.branch_id)
    if criteria.shift_id:
        stmt = stmt.where(Member.shift_id == criteria.shift_id)
    if criteria.category:
        stmt = stmt.where(Member.category == criteria.category)
    if criteria.active is not None:
        stmt = stmt.where(Member.active.is_(criteria.active))
    return stmt.order_by(Member.staff_no)


def _visible_to(user: User, stmt: sa.Select) -> sa.Select:
    """Limit a query of members to those `user` may see: all for an organizer, else own branches."""
    if not is_organizer(user):
        stmt = stmt.where(Member.branch_id.in_(secretary_branch_ids(user) or {-1}))
    return stmt


LOOKUP_LIMIT = 10


def lookup_members(user: User, q: str, limit: int = LOOKUP_LIMIT) -> tuple[list[Member], bool]:
    """Active members `user` may see whose 工号 starts with `q` or whose name contains it, for
    the member picker: an exact 工号 first, then by 工号; at most `limit`, and whether there
    were more."""
    q = q.strip()[:64]
    if not q:
        return [], False
    stmt = _visible_to(
        user,
        sa.select(Member)
        .options(joinedload(Member.branch))
        .where(
            Member.active.is_(True),
            sa.or_(
                Member.staff_no.istartswith(q, autoescape=True),
                Member.name.icontains(q, autoescape=True),
            ),
        ),
    )
    stmt = stmt.order_by(sa.case((Member.staff_no == q, 0), else_=1), Member.staff_no)
    rows = list(db.session.scalars(stmt.limit(limit + 1)).unique())
    return rows[:limit], len(rows) > limit


def departments() -> list[Department]:
    return list(
        db.session.scalars(sa.select(Department).order_by(Department.position, Department.id))
    )


def branches(user: User | None = None) -> list[Branch]:
    stmt = sa.select(Branch).order_by(Branch.department_id, Branch.position, Branch.id)
    if user is not None and not is_organizer(user):
        stmt = stmt.where(Branch.id.in_(secretary_branch_ids(user) or {-1}))
    return list(db.session.scalars(stmt))


def shifts() -> list[Shift]:
    return list(db.session.scalars(sa.select(Shift).order_by(Shift.position, Shift.id)))


def branch_counts() -> dict[int, tuple[int, int]]:
    """Per branch: (active members, all members), in one query."""
    rows = db.session.execute(
        sa.select(
            Member.branch_id,
            sa.func.count().filter(Member.active.is_(True)),
            sa.func.count(),
        ).group_by(Member.branch_id)
    )
    return {branch_id: (active, total) for branch_id, active, total in rows}


# --- changes ----------------------------------------------------------------------------------
@dataclass
class MemberData:
    staff_no: str
    name: str
    gender: Gender
    department_id: int
    branch_id: int
    shift_id: int | None
    category: Category
    joined_party_on: date | None
    committee_member: bool = False


def create_member(data: MemberData) -> Member:
    member = Member(**{field: getattr(data, field) for field in MEMBER_FIELDS})
    db.session.add(member)
    db.session.flush()
    record_audit("member.created", "member", member.id, {"staff_no": member.staff_no})
    return member


def update_member(member: Member, data: MemberData) -> dict[str, list]:
    changes = {}
    for field in MEMBER_FIELDS:
        new = getattr(data, field)
        old = getattr(member, field)
        if old != new:
            changes[field] = [_plain(old), _plain(new)]
            setattr(member, field, new)
    if changes:
        record_audit("member.updated", "member", member.id, changes)
    db.session.flush()
    return changes


def set_member_active(member: Member, active: bool) -> None:
    if member.active == active:
        return
    member.active = active
    record_audit("member.activated" if active else "member.deactivated", "member", member.id)
    db.session.flush()


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value
