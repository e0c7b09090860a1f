"""The course catalog: themes and courses."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User
from lms.database import UTCDateTime, enum_column, intpk, timestamp, utcnow
from lms.enums import LabelledEnum
from lms.extensions import Model, db
from lms.org.models import Category, TargetsCategories


class CourseFormat(LabelledEnum):
    PARTY_LECTURE = "party_lecture", _l("党课")
    DOCUMENTARY = "documentary", _l("纪录片")
    EXPERT_TALK = "expert_talk", _l("专家讲座")
    INTEGRITY = "integrity", _l("廉政教育")
    SEMINAR = "seminar", _l("研讨")
    TEST = "test", _l("测试")


# The Chinese names used in shipped content files, whatever the UI language.
FORMAT_CONTENT_NAMES = {
    "党课": CourseFormat.PARTY_LECTURE,
    "纪录片": CourseFormat.DOCUMENTARY,
    "专家讲座": CourseFormat.EXPERT_TALK,
    "廉政教育": CourseFormat.INTEGRITY,
    "研讨": CourseFormat.SEMINAR,
    "测试": CourseFormat.TEST,
}


class CourseStatus(LabelledEnum):
    DRAFT = "draft", _l("草稿")
    PUBLISHED = "published", _l("已发布")
    ARCHIVED = "archived", _l("已归档")


class Theme(Model):
    """A managed list of themes (宗旨意识, 理想信念, …)."""

    __tablename__ = "themes"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(32), unique=True)
    position: Mapped[int] = mapped_column(default=0)


course_lecturers = sa.Table(
    "course_lecturers",
    db.metadata,
    sa.Column("course_id", sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), primary_key=True, index=True),
)


class CourseCategory(Model):
    """A category of trainee the course is meant for."""

    __tablename__ = "course_categories"

    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[Category] = mapped_column(
        enum_column(Category, "category"), primary_key=True, index=True
    )


class Course(TargetsCategories, Model):
    __tablename__ = "courses"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    title: Mapped[str] = mapped_column(sa.String(128), index=True)
    theme_id: Mapped[int] = mapped_column(sa.ForeignKey("themes.id"), index=True)
    format: Mapped[CourseFormat] = mapped_column(enum_column(CourseFormat, "course_format"))
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(5, 1))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[CourseStatus] = mapped_column(
        enum_column(CourseStatus, "course_status"), default=CourseStatus.DRAFT, index=True
    )
    created_at: Mapped[timestamp]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    theme: Mapped[Theme] = relationship()
    lecturers: Mapped[list[User]] = relationship(secondary=course_lecturers, order_by=User.username)
    category_rows: Mapped[list[CourseCategory]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=CourseCategory.category
    )

    category_row_class = CourseCategory
