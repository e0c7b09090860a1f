"""Course and lesson materials (课件/资料), each with every uploaded version kept."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User
from lms.catalog.models import Course
from lms.database import UTCDateTime, enum_column, intpk, timestamp
from lms.enums import LabelledEnum
from lms.extensions import Model
from lms.sessions.models import Lesson


class Visibility(LabelledEnum):
    ENROLLED = "enrolled", _l("仅参训学员")
    ALL = "all", _l("全体学员")


class Material(Model):
    """A file shown on a course page or a lesson page. Deleting hides it; versions stay."""

    __tablename__ = "materials"

    id: Mapped[intpk]
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id"), index=True)
    lesson_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lessons.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(128))
    visibility: Mapped[Visibility] = mapped_column(
        enum_column(Visibility, "visibility"), default=Visibility.ENROLLED
    )
    created_at: Mapped[timestamp]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    course: Mapped[Course | None] = relationship()
    lesson: Mapped[Lesson | None] = relationship()
    created_by: Mapped[User] = relationship()
    versions: Mapped[list[MaterialVersion]] = relationship(
        back_populates="material",
        order_by="MaterialVersion.number.desc()",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        sa.CheckConstraint("(course_id IS NULL) <> (lesson_id IS NULL)", name="one_parent"),
    )

    @property
    def current(self) -> MaterialVersion:
        return self.versions[0]

    @property
    def taught_course(self) -> Course:
        """The course this material belongs to, directly or through its lesson."""
        if self.course is not None:
            return self.course
        assert self.lesson is not None  # CHECK one_parent: a course or a lesson
        return self.lesson.course


class MaterialVersion(Model):
    """One uploaded file. The bytes live on disk under their SHA-256; the name is for people."""

    __tablename__ = "material_versions"

    id: Mapped[intpk]
    material_id: Mapped[int] = mapped_column(
        sa.ForeignKey("materials.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    original_name: Mapped[str] = mapped_column(sa.String(255))
    kind: Mapped[str] = mapped_column(sa.String(8))
    content_type: Mapped[str] = mapped_column(sa.String(128))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    uploaded_at: Mapped[timestamp]
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    material: Mapped[Material] = relationship(back_populates="versions")
    uploaded_by: Mapped[User] = relationship()

    __table_args__ = (sa.UniqueConstraint("material_id", "number"),)
