"""The demo recordings for online study."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from lms.auth.demo import user_by_name
from lms.catalog.demo import course_by_code
from lms.catalog.models import Course
from lms.content_files import ContentError, read_yaml
from lms.extensions import db
from lms.materials.models import Visibility
from lms.materials.services import add_material
from lms.materials.storage import UploadRefused, store
from lms.online.models import Recording
from lms.online.services import create_recording, mp4_duration


def load_recordings(path: Path) -> str:
    """Demo recordings: each MP4 stored as a course material (all members) and made a
    recording; a title already there is left alone."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ContentError(f"{path}: recordings required")
    created = 0
    for index, entry in enumerate(data.get("recordings") or []):
        where = f"recordings[{index}]"
        if not isinstance(entry, dict):
            raise ContentError(f"{path}: {where}: a mapping is required")
        title = str(entry.get("title", ""))
        if db.session.scalar(sa.select(Recording.id).where(Recording.title == title)):
            continue
        uploader = user_by_name(path, where, entry.get("uploader"))
        code = entry.get("course")
        if code == "first":
            course = db.session.scalars(sa.select(Course).order_by(Course.code)).first()
        else:
            course = course_by_code(path, where, code)
        video = path.parent / str(entry.get("file", ""))
        try:
            with video.open("rb") as stream:
                seconds = mp4_duration(stream)
                stream.seek(0)
                stored = store(stream, video.name)
        except (OSError, UploadRefused) as exc:
            reason = getattr(exc, "message", exc)
            raise ContentError(f"{path}: {where}: {video.name}: {reason}") from exc
        if not seconds:
            raise ContentError(f"{path}: {where}: {video.name}: no running time in the file")
        material = add_material(uploader, stored, title, Visibility.ALL, course=course)
        create_recording(uploader, material, title, seconds, None, None)
        created += 1
    db.session.flush()
    return f"recordings: {created} new"
