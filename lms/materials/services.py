"""Who may see and upload which materials, and keeping their versions."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from lms.audit.services import record_audit
from lms.auth.models import Role, User
from lms.catalog.models import Course
from lms.catalog.services import can_view_course
from lms.database import utcnow
from lms.extensions import db
from lms.materials.models import Material, MaterialVersion, Visibility
from lms.materials.storage import StoredFile
from lms.sessions.models import Lesson
from lms.sessions.services import (
    enrolled_session_ids,
    is_enrolled_in_course,
    is_enrolled_in_session,
)


def lesson_deletion_refusal(lesson: Lesson) -> str | None:
    """Receives `lesson_deleting`: a lesson with materials stays. Deleted materials count too:
    their versions stay on record against the lesson."""
    if db.session.scalar(sa.select(Material.id).where(Material.lesson_id == lesson.id).limit(1)):
        return _("该课次有课件（含已删除的），不能删除；可以修改课次的时间或课程。")
    return None


def can_upload_to_course(user: User, course: Course) -> bool:
    return user.has_role(Role.ORGANIZER) or user in course.lecturers


def can_upload_to_lesson(user: User, lesson: Lesson) -> bool:
    return user.has_role(Role.ORGANIZER) or lesson.lecturer_id == user.id


def can_manage_material(user: User, material: Material) -> bool:
    if material.deleted_at is not None:
        return False
    if material.lesson is not None:
        return can_upload_to_lesson(user, material.lesson)
    assert material.course is not None  # CHECK one_parent: a course or a lesson
    return can_upload_to_course(user, material.course)


def _is_enrolled(user: User, material: Material) -> bool:
    if material.lesson is not None:
        return is_enrolled_in_session(user.member, material.lesson.session_id)
    assert material.course is not None  # CHECK one_parent: a course or a lesson
    return is_enrolled_in_course(user.member, material.course)


def can_view_material(user: User, material: Material) -> bool:
    if material.deleted_at is not None:
        return False
    if can_manage_material(user, material):
        return True
    if not can_view_course(user, material.taught_course):
        return False
    return material.visibility is Visibility.ALL or _is_enrolled(user, material)


def why_material_refused(user: User, material: Material) -> str | None:
    """The reason to show a member refused an enrolled-only material they could otherwise see."""
    if (
        material.visibility is Visibility.ENROLLED
        and user.member is not None
        and can_view_course(user, material.taught_course)
    ):
        return _("此资料仅向参训学员开放，您未参加相关培训。")
    return None


def materials_of(user: User, *, course: Course | None = None, lesson: Lesson | None = None):
    """The live materials of a course or a lesson that `user` may see, newest first."""
    stmt = (
        sa.select(Material)
        .where(Material.deleted_at.is_(None))
        .options(selectinload(Material.versions))
        .order_by(Material.created_at.desc(), Material.id.desc())
    )
    if course is not None:
        stmt = stmt.where(Material.course_id == course.id)
    else:
        assert lesson is not None  # callers name a course or a lesson
        stmt = stmt.where(Material.lesson_id == lesson.id)
    materials = list(db.session.scalars(stmt))
    if not materials:
        return []
    # They all hang from the same course or lesson, so one check answers for all of them.
    first = materials[0]
    if can_manage_material(user, first):
        return materials
    if not can_view_course(user, first.taught_course):
        return []
    enrolled = _is_enrolled(user, first)
    return [m for m in materials if m.visibility is Visibility.ALL or enrolled]


def lesson_material_counts(lesson_ids: set[int]) -> dict[int, int]:
    """How many live materials each lesson has, in one grouped query."""
    if not lesson_ids:
        return {}
    rows = db.session.execute(
        sa.select(Material.lesson_id, sa.func.count(Material.id))
        .where(Material.lesson_id.in_(lesson_ids), Material.deleted_at.is_(None))
        .group_by(Material.lesson_id)
    ).all()
    # lesson_id IN (...) already leaves out course materials, whose lesson_id is NULL.
    return {lesson_id: count for lesson_id, count in rows if lesson_id is not None}


def lesson_materials_of_course(user: User, course: Course) -> list[Material]:
    """The live materials uploaded to the course's lessons that `user` may see, newest first:
    the course page lists them too, so a lecturer's slides reach whoever reads the course."""
    materials = list(
        db.session.scalars(
            sa.select(Material)
            .join(Lesson, Lesson.id == Material.lesson_id)
            .where(Material.deleted_at.is_(None), Lesson.course_id == course.id)
            .options(
                selectinload(Material.versions),
                selectinload(Material.lesson).selectinload(Lesson.session),
            )
            .order_by(Material.created_at.desc(), Material.id.desc())
        )
    )
    if not materials:
        return []
    course_visible = can_view_course(user, course)
    enrolled = enrolled_session_ids(user.member)
    return [
        m
        for m in materials
        if can_manage_material(user, m)
        or (
            course_visible
            # m.lesson is always set: the query joins the materials' lessons
            and (
                m.visibility is Visibility.ALL
                or (m.lesson is not None and m.lesson.session_id in enrolled)
            )
        )
    ]


def _version(stored: StoredFile, number: int, user: User) -> MaterialVersion:
    return MaterialVersion(
        number=number,
        original_name=stored.original_name,
        kind=stored.kind.name,
        content_type=stored.kind.content_type,
        size=stored.size,
        sha256=stored.sha256,
        uploaded_by_id=user.id,
    )


def add_material(
    user: User,
    stored: StoredFile,
    title: str,
    visibility: Visibility,
    *,
    course: Course | None = None,
    lesson: Lesson | None = None,
) -> Material:
    material = Material(
        course=course,
        lesson=lesson,
        title=title or stored.original_name,
        visibility=visibility,
        created_by_id=user.id,
        versions=[_version(stored, 1, user)],
    )
    db.session.add(material)
    db.session.flush()
    record_audit(
        "material.created",
        "material",
        material.id,
        {"name": stored.original_name, "sha256": stored.sha256},
    )
    return material


def add_version(user: User, material: Material, stored: StoredFile) -> MaterialVersion:
    version = _version(stored, material.current.number + 1, user)
    material.versions.insert(0, version)
    db.session.flush()
    record_audit(
        "material.version",
        "material",
        material.id,
        {"number": version.number, "name": stored.original_name, "sha256": stored.sha256},
    )
    return version


def delete_material(material: Material) -> None:
    """Hide a material. Its versions and files stay, so the audit trail can still name them."""
    material.deleted_at = utcnow()
    record_audit(
        "material.deleted",
        "material",
        material.id,
        {"title": material.title, "versions": [v.sha256 for v in material.versions]},
    )
    db.session.flush()
