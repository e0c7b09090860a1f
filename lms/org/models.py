"""The plant's organisation: departments, shifts, party branches and their members."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.database import UTCDateTime, enum_column, intpk, timestamp, utcnow
from lms.enums import LabelledEnum
from lms.extensions import Model, db

if TYPE_CHECKING:
    from lms.auth.models import User


class Category(LabelledEnum):
    """培训对象类别: who a member is, for training purposes."""

    CADRE = "cadre", _l("中层党员干部")
    PARTY_WORKER = "party_worker", _l("党务工作者")
    MEMBER = "member", _l("党员")
    PROBATIONARY = "probationary", _l("预备党员")
    ACTIVIST = "activist", _l("入党积极分子")
    LEAGUE_MEMBER = "league_member", _l("团员")
    YOUTH = "youth", _l("优秀青年代表")


# The Chinese names as they appear in rosters, whatever the UI language.
CATEGORY_ROSTER_NAMES = {
    Category.CADRE: "中层党员干部",
    Category.PARTY_WORKER: "党务工作者",
    Category.MEMBER: "党员",
    Category.PROBATIONARY: "预备党员",
    Category.ACTIVIST: "入党积极分子",
    Category.LEAGUE_MEMBER: "团员",
    Category.YOUTH: "优秀青年代表",
}


class Gender(LabelledEnum):
    MALE = "male", _l("男")
    FEMALE = "female", _l("女")


GENDER_ROSTER_NAMES = {Gender.MALE: "男", Gender.FEMALE: "女"}


class TargetsCategories:
    """For models aimed at some categories of trainee (courses, sessions) through a row table.

    The model declares `category_rows` (rows with a `category` attribute) and names the row class
    in `category_row_class`; an empty set means "everyone".
    """

    category_row_class: ClassVar[type]
    if TYPE_CHECKING:  # each model maps it as a relationship to its row class
        category_rows: Mapped[list[Any]]

    @property
    def categories(self) -> list[Category]:
        return [row.category for row in self.category_rows]

    def set_categories(self, categories: set[Category]) -> None:
        keep = [row for row in self.category_rows if row.category in categories]
        missing = categories - {row.category for row in keep}
        self.category_rows = keep + [self.category_row_class(category=c) for c in sorted(missing)]

    def targets(self, category: Category) -> bool:
        return not self.category_rows or category in self.categories


class Department(Model):
    __tablename__ = "departments"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    position: Mapped[int] = mapped_column(default=0)

    branches: Mapped[list[Branch]] = relationship(
        back_populates="department", order_by="Branch.position"
    )


class Shift(Model):
    """班组/值: a crew on the round-the-clock rota (一值…五值) or day work."""

    __tablename__ = "shifts"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(32), unique=True)
    position: Mapped[int] = mapped_column(default=0)


branch_secretaries = sa.Table(
    "branch_secretaries",
    db.metadata,
    # Primary key on the branch: one secretary per branch.
    sa.Column("branch_id", sa.ForeignKey("branches.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("member_id", sa.ForeignKey("members.id"), nullable=False, index=True),
)


class Branch(Model):
    """党支部, within one department."""

    __tablename__ = "branches"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)

    department: Mapped[Department] = relationship(back_populates="branches")
    secretary: Mapped[Member | None] = relationship(secondary=branch_secretaries, uselist=False)


class Member(Model):
    """党员/学员: anyone who is trained. Never hard-deleted; `active` retires them."""

    __tablename__ = "members"

    id: Mapped[intpk]
    staff_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64), index=True)
    gender: Mapped[Gender] = mapped_column(enum_column(Gender, "gender"))
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"), index=True)
    shift_id: Mapped[int | None] = mapped_column(sa.ForeignKey("shifts.id"), index=True)
    category: Mapped[Category] = mapped_column(enum_column(Category, "category"), index=True)
    joined_party_on: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True, index=True)
    # 支部委员: on the branch committee (the secretary is named on the branch itself).
    committee_member: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[timestamp]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship()
    branch: Mapped[Branch] = relationship()
    shift: Mapped[Shift | None] = relationship()
    user: Mapped[User | None] = relationship(back_populates="member")

    def __repr__(self) -> str:
        return f"<Member {self.staff_no} {self.name}>"
