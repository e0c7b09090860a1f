"""Materials: real file bytes of every allowed type, forged files refused with nothing left
behind, who may upload and see what, versions, deletion, Range and inline downloads."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from lms.audit.models import AuditLog
from lms.auth.models import Role
from lms.extensions import db
from lms.materials.models import Material, MaterialVersion, Visibility
from lms.materials.storage import material_path
from lms.sessions.models import EnrollmentStatus
from tests import samples
from tests.conftest import login
from tests.factories import (
    make_course,
    make_enrollment,
    make_lesson,
    make_material,
    make_member,
    make_user,
)


@pytest.fixture
def uploads(app) -> Path:
    return Path(app.config["UPLOADS_DIR"])


def _files_on_disk(uploads: Path) -> set[Path]:
    return {p for p in uploads.rglob("*") if p.is_file()}


@pytest.fixture
def lecturer():
    return make_user(roles={Role.LECTURER})


@pytest.fixture
def lesson(lecturer):
    return make_lesson(lecturer=lecturer)


def _upload(client, url, name, content, **fields):
    # Encoded in memory: the test client would otherwise spool big bodies to a file it never closes.
    boundary, body = encode_multipart(
        MultiDict(
            {
                "file": FileStorage(io.BytesIO(content), filename=name),
                "title": "",
                "visibility": "enrolled",
                **fields,
            }
        )
    )
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("name", sorted(samples.ALLOWED))
def test_every_allowed_type_is_accepted(client, lesson, lecturer, uploads, name):
    content = samples.ALLOWED[name]()
    login(client, lecturer)
    response = _upload(client, f"/materials/upload/lesson/{lesson.id}", name, content)
    assert response.status_code == 302
    version = db.session.scalar(sa.select(MaterialVersion))
    assert version.original_name == name
    assert version.kind == Path(name).suffix[1:]
    assert version.size == len(content)
    stored = material_path(version.sha256)
    assert stored.read_bytes() == content
    assert stored.name == version.sha256 and uploads in stored.parents
    assert not list((uploads / "tmp").iterdir())  # the streamed temporary file is gone


FORGED = [
    ("讲义.pdf", samples.windows_executable, "文件内容不是允许的类型"),
    ("讲义.pdf", samples.elf_executable, "文件内容不是允许的类型"),
    ("讲义.pdf", samples.png, "文件内容是 PNG，与扩展名 .pdf 不符"),
    ("slides.pptx", samples.docx, "文件内容是 DOCX，与扩展名 .pptx 不符"),
    ("教案.docx", samples.plain_zip, "文件内容不是允许的类型"),
    ("海报.png", lambda: b"just some text, not an image", "文件内容不是允许的类型"),
    ("setup.exe", samples.windows_executable, "只能上传以下类型的文件"),
    ("讲义", samples.pdf, "只能上传以下类型的文件"),
    ("../../x.pdf", samples.pdf, "文件名无效"),
    ("..\\..\\x.pdf", samples.pdf, "文件名无效"),
    ("讲义\u202egpj.pdf", samples.pdf, "文件名无效"),
    ("空文件.pdf", lambda: b"", "文件是空的"),
    ("长" * 201 + ".pdf", samples.pdf, "文件名太长"),
]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    FORGED,
    ids=[f"{i}-{c.__name__}" for i, (_, c, _) in enumerate(FORGED)],
)
@pytest.mark.security
def test_forged_and_bad_files_are_refused_leaving_nothing(
    client, lesson, lecturer, uploads, name, content, message
):
    before = _files_on_disk(uploads)
    login(client, lecturer)
    response = _upload(client, f"/materials/upload/lesson/{lesson.id}", name, content())
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(Material) == 0 and _count(MaterialVersion) == 0
    assert _files_on_disk(uploads) == before


def test_no_file_chosen(client, lesson, lecturer):
    login(client, lecturer)
    response = client.post(
        f"/materials/upload/lesson/{lesson.id}",
        data={"title": "x", "visibility": "all"},
        content_type="multipart/form-data",
    )
    assert "请选择要上传的文件" in response.get_data(as_text=True)
    assert _count(Material) == 0


def test_refusal_messages_follow_the_user_language(client, lesson, lecturer):
    lecturer.locale = "en"
    db.session.flush()
    login(client, lecturer)
    response = _upload(client, f"/materials/upload/lesson/{lesson.id}", "a.pdf", samples.png())
    assert "does not match" in response.get_data(as_text=True)


@pytest.fixture
def small_limits(app):
    saved = app.config["MATERIAL_MAX_FILE_MB"], app.config["MATERIAL_MAX_VIDEO_MB"]
    app.config["MATERIAL_MAX_FILE_MB"], app.config["MATERIAL_MAX_VIDEO_MB"] = 1, 2
    yield
    app.config["MATERIAL_MAX_FILE_MB"], app.config["MATERIAL_MAX_VIDEO_MB"] = saved


@pytest.mark.security
def test_file_over_its_type_limit_gets_a_friendly_413(
    client, lesson, lecturer, uploads, small_limits
):
    before = _files_on_disk(uploads)
    login(client, lecturer)
    big_pdf = samples.pdf() + b"\n%" + b"x" * (1024 * 1024)
    response = _upload(client, f"/materials/upload/lesson/{lesson.id}", "big.pdf", big_pdf)
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "文件太大" in html and "1 MB" in html
    # A video of the same size is within the video limit.
    video = samples.mp4(padding=len(big_pdf))
    response = _upload(client, f"/materials/upload/lesson/{lesson.id}", "big.mp4", video)
    assert response.status_code == 302
    assert _count(MaterialVersion) == 1
    assert len(_files_on_disk(uploads) - before) == 1


@pytest.mark.security
def test_request_over_the_largest_limit_is_cut_off_with_a_friendly_413(
    client, lesson, lecturer, uploads, small_limits
):
    before = _files_on_disk(uploads)
    login(client, lecturer)
    huge = samples.mp4(padding=4 * 1024 * 1024)
    response = _upload(client, f"/materials/upload/lesson/{lesson.id}", "huge.mp4", huge)
    assert response.status_code == 413
    assert "文件太大" in response.get_data(as_text=True)
    assert _count(Material) == 0
    assert _files_on_disk(uploads) == before


def test_default_limits_are_500_mb_for_video_and_50_mb_otherwise(app):
    assert app.config["MATERIAL_MAX_VIDEO_MB"] == 500
    assert app.config["MATERIAL_MAX_FILE_MB"] == 50


@pytest.mark.security
def test_another_lecturer_cannot_upload_to_a_lesson(client, lesson):
    login(client, make_user(roles={Role.LECTURER}))
    response = _upload(client, f"/materials/upload/lesson/{lesson.id}", "a.pdf", samples.pdf())
    assert response.status_code == 403
    assert _count(Material) == 0


def test_course_lecturers_and_organizers_upload_to_courses(client, lecturer):
    course = make_course(lecturers=[lecturer])
    login(client, lecturer)
    assert (
        _upload(client, f"/materials/upload/course/{course.id}", "a.pdf", samples.pdf()).status_code
        == 302
    )
    login(client, make_user(roles={Role.LECTURER}))
    assert (
        _upload(client, f"/materials/upload/course/{course.id}", "b.pdf", samples.pdf()).status_code
        == 403
    )
    login(client, make_user(roles={Role.ORGANIZER}))
    assert (
        _upload(client, f"/materials/upload/course/{course.id}", "c.pdf", samples.pdf()).status_code
        == 302
    )
    assert _count(Material) == 2


def test_same_bytes_are_stored_once(client, lesson, lecturer, uploads):
    login(client, lecturer)
    before = _files_on_disk(uploads)
    content = samples.png(7, 3)
    for name in ("a.png", "b.png"):
        _upload(client, f"/materials/upload/lesson/{lesson.id}", name, content)
    assert _count(MaterialVersion) == 2
    assert len(_files_on_disk(uploads) - before) == 1


def _trainee(session=None):
    member = make_member()
    user = make_user(roles={Role.TRAINEE}, member=member)
    if session is not None:
        make_enrollment(session, member)
    return user


@pytest.mark.security
def test_enrolled_only_materials_are_for_the_enrolled(client, lesson, lecturer):
    hidden = make_material(uploader=lecturer, lesson=lesson, visibility=Visibility.ENROLLED)
    shared = make_material(
        uploader=lecturer,
        lesson=lesson,
        visibility=Visibility.ALL,
        content=samples.png(),
        name="海报.png",
    )
    enrolled, outsider = _trainee(lesson.session), _trainee()

    login(client, enrolled)
    assert client.get(f"/materials/{hidden.id}/file").status_code == 200
    page = client.get(f"/sessions/lessons/{lesson.id}").get_data(as_text=True)
    assert hidden.title in page and shared.title in page

    login(client, outsider)
    assert client.get(f"/materials/{hidden.id}/file").status_code == 403
    assert client.get(f"/materials/{shared.id}/file").status_code == 200
    page = client.get(f"/sessions/lessons/{lesson.id}").get_data(as_text=True)
    assert hidden.title not in page and shared.title in page


def test_course_materials_follow_enrolment_in_a_session_teaching_the_course(client, lecturer):
    course = make_course(lecturers=[lecturer])
    material = make_material(uploader=lecturer, course=course)
    lesson = make_lesson(course=course)
    enrolled, outsider = _trainee(lesson.session), _trainee()
    login(client, enrolled)
    assert material.title in client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert client.get(f"/materials/{material.id}").status_code == 200
    login(client, outsider)
    assert material.title not in client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert client.get(f"/materials/{material.id}").status_code == 403


# Enrollment status → in the session, so may see and download its enrolled-only material.
# A pending leave request means the member is not coming.
IN_SESSION_BY_STATUS = [
    (EnrollmentStatus.INVITED, True),
    (EnrollmentStatus.CONFIRMED, True),
    (EnrollmentStatus.COMPLETED, True),
    (EnrollmentStatus.LEAVE_REQUESTED, False),
    (EnrollmentStatus.LEAVE_APPROVED, False),
    (EnrollmentStatus.ABSENT, False),
]


@pytest.mark.security
@pytest.mark.parametrize(("status", "allowed"), IN_SESSION_BY_STATUS)
def test_enrolled_only_materials_follow_the_enrollment_status(
    client, lesson, lecturer, status, allowed
):
    on_lesson = make_material(uploader=lecturer, lesson=lesson)
    on_course = make_material(
        uploader=lecturer, course=lesson.course, content=samples.png(), name="图解.png"
    )
    member = make_member()
    make_enrollment(lesson.session, member).status = status
    db.session.flush()
    login(client, make_user(roles={Role.TRAINEE}, member=member))
    lesson_page = client.get(f"/sessions/lessons/{lesson.id}").get_data(as_text=True)
    course_page = client.get(f"/courses/{lesson.course_id}").get_data(as_text=True)
    answers = [
        client.get(f"/materials/{on_lesson.id}/file"),
        client.get(f"/materials/versions/{on_lesson.current.id}/file"),
        client.get(f"/materials/{on_course.id}"),
        client.get(f"/materials/{on_course.id}/file"),
    ]
    assert (on_lesson.title in lesson_page) is allowed
    assert (on_course.title in course_page) is allowed
    for answer in answers:
        assert answer.status_code == (200 if allowed else 403)
        if not allowed:
            assert "此资料仅向参训学员开放，您未参加相关培训。" in answer.get_data(as_text=True)


def test_new_versions_keep_the_old(client, lesson, lecturer):
    material = make_material(uploader=lecturer, lesson=lesson, name="讲义.pdf")
    first = material.current
    login(client, lecturer)
    new_pdf = samples.pdf().replace(b"study notes", b"revised v2!")
    response = _upload(
        client, f"/materials/{material.id}/versions/new", "讲义（修订）.pdf", new_pdf
    )
    assert response.status_code == 302
    assert [v.number for v in material.versions] == [2, 1]
    assert client.get(f"/materials/{material.id}/file").data == new_pdf
    assert client.get(f"/materials/versions/{first.id}/file").data == samples.pdf()
    actions = set(db.session.scalars(sa.select(AuditLog.action)))
    assert {"material.created", "material.version"} <= actions


def test_a_forged_new_version_changes_nothing(client, lesson, lecturer):
    material = make_material(uploader=lecturer, lesson=lesson)
    login(client, lecturer)
    response = _upload(
        client, f"/materials/{material.id}/versions/new", "讲义.pdf", samples.windows_executable()
    )
    assert "文件内容不是允许的类型" in response.get_data(as_text=True)
    assert [v.number for v in material.versions] == [1]


def test_delete_hides_the_material_and_is_audited(client, lesson, lecturer):
    material = make_material(uploader=lecturer, lesson=lesson, visibility=Visibility.ALL)
    path = material_path(material.current.sha256)
    login(client, make_user(roles={Role.LECTURER}))
    assert client.post(f"/materials/{material.id}/delete").status_code == 403
    login(client, lecturer)
    assert client.post(f"/materials/{material.id}/delete").status_code == 302
    assert material.deleted_at is not None
    assert client.get(f"/materials/{material.id}/file").status_code == 404
    assert material.title not in client.get(f"/sessions/lessons/{lesson.id}").get_data(as_text=True)
    entry = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == "material.deleted")
    ).one()
    assert entry.actor_id == lecturer.id
    assert entry.details["versions"] == [material.current.sha256]
    assert path.exists()  # the audit trail can still name the file


def test_pdf_opens_inline_with_its_chinese_name(client, lesson, lecturer):
    material = make_material(uploader=lecturer, lesson=lesson, name="党章学习讲义.pdf")
    login(client, lecturer)
    response = client.get(f"/materials/{material.id}/file")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("inline")
    assert "filename*=UTF-8''%E5%85%9A%E7%AB%A0" in disposition
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]


def test_office_files_download_as_attachments(client, lesson, lecturer):
    material = make_material(
        uploader=lecturer, lesson=lesson, name="教案.docx", content=samples.docx()
    )
    login(client, lecturer)
    response = client.get(f"/materials/{material.id}/file")
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_video_supports_range_and_conditional_requests(client, lesson, lecturer):
    video = samples.mp4(padding=4096)
    material = make_material(uploader=lecturer, lesson=lesson, name="录像.mp4", content=video)
    login(client, lecturer)
    response = client.get(f"/materials/{material.id}/file", headers={"Range": "bytes=100-199"})
    assert response.status_code == 206
    assert response.data == video[100:200]
    assert response.headers["Content-Range"] == f"bytes 100-199/{len(video)}"
    assert response.headers["Accept-Ranges"] == "bytes"
    etag = response.headers["ETag"]
    again = client.get(f"/materials/{material.id}/file", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_material_page_lists_versions(client, lesson, lecturer):
    material = make_material(uploader=lecturer, lesson=lesson, name="讲义.pdf")
    login(client, lecturer)
    html = client.get(f"/materials/{material.id}").get_data(as_text=True)
    assert "讲义.pdf" in html and "上传新版本" in html


def test_missing_file_on_disk_is_a_404_not_a_500(client, lesson, lecturer):
    material = make_material(
        uploader=lecturer, lesson=lesson, content=samples.png(5, 5), name="x.png"
    )
    material_path(material.current.sha256).unlink()
    login(client, lecturer)
    assert client.get(f"/materials/{material.id}/file").status_code == 404


def test_upload_form_shows_the_limits(client, lesson, lecturer):
    login(client, lecturer)
    html = client.get(f"/materials/upload/lesson/{lesson.id}").get_data(as_text=True)
    assert "500 MB" in html and "50 MB" in html and 'enctype="multipart/form-data"' in html


def test_large_uploads_pass_the_csrf_check_under_their_own_limit(
    app, client, lesson, lecturer, small_limits, csrf_enabled
):
    """CSRF reads the body, so the material limit must be set before it, not after."""
    saved = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 512 * 1024  # the default for every other form
    try:
        login(client, lecturer)
        page = client.get(f"/materials/upload/lesson/{lesson.id}").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        video = samples.mp4(padding=1024 * 1024)  # over the default, under the video limit
        url = f"/materials/upload/lesson/{lesson.id}"
        response = _upload(client, url, "录像.mp4", video, csrf_token=token)
        assert response.status_code == 302
        # Over every limit: the friendly page, in full (the page itself must not re-read the body).
        response = _upload(
            client, url, "大.mp4", samples.mp4(padding=3 * 1024 * 1024), csrf_token=token
        )
        assert response.status_code == 413
        html = response.get_data(as_text=True)
        assert "文件太大" in html and "navbar" in html
    finally:
        app.config["MAX_CONTENT_LENGTH"] = saved
    assert _count(MaterialVersion) == 1
