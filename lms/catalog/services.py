"""Catalog queries and changes: who sees which course, filters, create, edit, publish."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from lms.access import is_organizer
from lms.audit.services import record_audit
from lms.auth.models import Role, User
from lms.auth.services import users_with_role
from lms.catalog.models import (
    Course,
    CourseCategory,
    CourseFormat,
    CourseStatus,
    Theme,
    course_lecturers,
)
from lms.database import utcnow
from lms.extensions import db
from lms.org.models import Category


@dataclass
class CatalogFilter:
    q: str = ""
    theme_id: int | None = None
    format: CourseFormat | None = None
    category: Category | None = None
    status: CourseStatus | None = CourseStatus.PUBLISHED


def catalog_query(user: User, criteria: CatalogFilter) -> sa.Select:
    stmt = sa.select(Course).options(selectinload(Course.theme), selectinload(Course.lecturers))
    status = criteria.status if is_organizer(user) else CourseStatus.PUBLISHED
    if status is not None:
        stmt = stmt.where(Course.status == status)
    if criteria.q:
        stmt = stmt.where(
            sa.or_(
                Course.title.icontains(criteria.q, autoescape=True),
                Course.code.icontains(criteria.q, autoescape=True),
            )
        )
    if criteria.theme_id:
        stmt = stmt.where(Course.theme_id == criteria.theme_id)
    if criteria.format:
        stmt = stmt.where(Course.format == criteria.format)
    if criteria.category:
        stmt = stmt.where(
            Course.id.in_(
                sa.select(CourseCategory.course_id).where(
                    CourseCategory.category == criteria.category
                )
            )
        )
    return stmt.order_by(Course.code)


def catalog_stamp() -> tuple:
    """Changes whenever anything a catalog listing shows changes (courses, themes, lecturers)."""
    return tuple(
        db.session.execute(
            sa.select(
                sa.select(sa.func.count(Course.id)).scalar_subquery(),
                sa.select(sa.func.max(Course.updated_at)).scalar_subquery(),
                sa.select(sa.func.count(Theme.id)).scalar_subquery(),
                sa.select(sa.func.max(Theme.id)).scalar_subquery(),
            )
        ).one()
    )


def touch_courses_taught_by(user: User) -> None:
    """A lecturer's name is shown on their courses' listings: mark those courses changed."""
    db.session.execute(
        sa.update(Course)
        .where(
            Course.id.in_(
                sa.select(course_lecturers.c.course_id).where(course_lecturers.c.user_id == user.id)
            )
        )
        .values(updated_at=utcnow())
    )


def themes() -> list[Theme]:
    return list(db.session.scalars(sa.select(Theme).order_by(Theme.position, Theme.id)))


def lecturers() -> list[User]:
    return users_with_role(Role.LECTURER)


@dataclass
class CourseData:
    code: str
    title: str
    theme_id: int
    format: CourseFormat
    hours: Decimal
    description: str
    categories: set[Category]
    lecturer_ids: list[int]


def _apply(course: Course, data: CourseData) -> None:
    course.code = data.code
    course.title = data.title
    course.theme_id = data.theme_id
    course.format = data.format
    course.hours = data.hours
    course.description = data.description
    course.set_categories(data.categories)
    course.updated_at = utcnow()  # also when only the lecturers or categories change
    course.lecturers = (
        list(db.session.scalars(sa.select(User).where(User.id.in_(data.lecturer_ids))))
        if data.lecturer_ids
        else []
    )


def create_course(data: CourseData) -> Course:
    course = Course(status=CourseStatus.DRAFT)
    _apply(course, data)
    db.session.add(course)
    db.session.flush()
    record_audit("course.created", "course", course.id, {"code": course.code})
    return course


def update_course(course: Course, data: CourseData) -> None:
    _apply(course, data)
    db.session.flush()
    record_audit("course.updated", "course", course.id, {"code": course.code})


def set_course_status(course: Course, status: CourseStatus) -> None:
    if course.status is status:
        return
    record_audit("course.status", "course", course.id, {"status": [course.status, status]})
    course.status = status
    db.session.flush()


def add_theme(name: str) -> Theme:
    highest = sa.select(sa.func.coalesce(sa.func.max(Theme.position), 0))
    position = db.session.execute(highest).scalar_one() + 1
    theme = Theme(name=name, position=position)
    db.session.add(theme)
    db.session.flush()
    record_audit("theme.created", "theme", theme.id, {"name": name})
    return theme
