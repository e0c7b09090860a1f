"""The shipped catalog: themes, and one Markdown file with YAML front matter per course."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import sqlalchemy as sa
import yaml

from lms.catalog.models import FORMAT_CONTENT_NAMES, Course, CourseStatus, Theme
from lms.content_files import ContentError, read_yaml
from lms.extensions import db
from lms.org.roster import CATEGORY_WORDS


def _front_matter(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", text, re.S)
    if not match:
        raise ContentError(
            f"{path.name}: front matter: the file must start with a '---' YAML block"
        )
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ContentError(f"{path.name}: front matter: invalid YAML ({exc})") from exc
    if not isinstance(meta, dict):
        raise ContentError(f"{path.name}: front matter: a mapping of fields is required")
    return meta, match.group(2).strip()


def _course_from_file(path: Path, themes: dict[str, int]) -> dict:
    """Validate one course file; the error names the file, the field and the reason."""
    meta, body = _front_matter(path)

    def fail(field: str, reason: str) -> ContentError:
        return ContentError(f"{path.name}: {field}: {reason}")

    code = str(meta.get("code") or "")
    if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z_\-]{0,31}", code):
        raise fail("code", "required; letters, digits, '-' or '_', at most 32")
    title = str(meta.get("title") or "").strip()
    if not title or len(title) > 128:
        raise fail("title", "required, at most 128 characters")
    if meta.get("theme") not in themes:
        raise fail("theme", f"unknown theme {meta.get('theme')!r}; known: {', '.join(themes)}")
    if meta.get("format") not in FORMAT_CONTENT_NAMES:
        raise fail("format", f"unknown format {meta.get('format')!r}")
    try:
        hours = Decimal(str(meta.get("hours")))
    except InvalidOperation:
        raise fail("hours", f"not a number: {meta.get('hours')!r}") from None
    if (
        not hours.is_finite()
        or not (Decimal("0.5") <= hours <= 100)
        or hours != hours.quantize(Decimal("0.1"))
    ):
        raise fail("hours", "between 0.5 and 100, at most one decimal")
    raw_categories = meta.get("categories") or []
    if not isinstance(raw_categories, list):
        raise fail("categories", "a list is required")
    categories = set()
    for name in raw_categories:
        if name not in CATEGORY_WORDS:
            raise fail("categories", f"unknown category {name!r}")
        categories.add(CATEGORY_WORDS[name])
    status = meta.get("status", "draft")
    if status not in set(CourseStatus):
        raise fail("status", f"one of draft, published, archived, not {status!r}")
    return {
        "code": code,
        "title": title,
        "theme_id": themes[meta["theme"]],
        "format": FORMAT_CONTENT_NAMES[meta["format"]],
        "hours": hours,
        "description": body,
        "status": CourseStatus(status),
        "categories": categories,
    }


def load_catalog(folder: Path) -> str:
    """Load themes and courses; every file is checked before anything is written."""
    names = read_yaml(folder / "themes.yaml")
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ContentError(f"{folder / 'themes.yaml'}: a list of theme names is required")
    themes = {t.name: t for t in db.session.scalars(sa.select(Theme))}
    for position, name in enumerate(names):
        if name not in themes:
            themes[name] = Theme(name=name, position=position)
            db.session.add(themes[name])
    db.session.flush()
    theme_ids = {name: theme.id for name, theme in themes.items()}
    parsed = [_course_from_file(path, theme_ids) for path in sorted(folder.glob("*.md"))]
    codes = [course["code"] for course in parsed]
    if len(codes) != len(set(codes)):
        raise ContentError(f"{folder}: code: the same course code appears in two files")
    existing = {c.code: c for c in db.session.scalars(sa.select(Course))}
    created = updated = 0
    for data in parsed:
        categories = data.pop("categories")
        course = existing.get(data["code"])
        if course is None:
            course = Course(**data)
            db.session.add(course)
            created += 1
        elif (
            any(getattr(course, key) != value for key, value in data.items())
            or set(course.categories) != categories
        ):
            for key, value in data.items():
                setattr(course, key, value)
            updated += 1
        course.set_categories(categories)
    db.session.flush()
    return f"catalog: {created} new courses, {updated} updated"


def course_by_code(path: Path, where: str, code: object) -> Course:
    course = db.session.scalar(sa.select(Course).where(Course.code == str(code)))
    if course is None:
        raise ContentError(f"{path}: {where}: unknown course {code}")
    return course
