"""Course catalog: browsing, filters, course pages, editing, sanitised Markdown, shipped content."""

from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lms.audit.models import AuditLog
from lms.auth.models import Role
from lms.catalog.demo import load_catalog
from lms.catalog.models import Course, CourseFormat, CourseStatus, Theme
from lms.content_files import ContentError
from lms.extensions import db
from lms.org.models import Category
from lms.paths import shipped
from tests.conftest import login
from tests.factories import make_course, make_theme, make_user


def _tags(html: str) -> list[tuple[str, list]]:
    """Every real element in `html` with its attributes (escaped text does not count)."""
    found = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def _organizer(client):
    return login(client, make_user(roles={Role.ORGANIZER}))


def test_trainees_see_only_published_courses(client):
    make_course(title="已发布课程")
    make_course(title="草稿课程", status=CourseStatus.DRAFT)
    make_course(title="归档课程", status=CourseStatus.ARCHIVED)
    login(client, make_user())
    html = client.get("/courses/").get_data(as_text=True)
    assert "已发布课程" in html and "草稿课程" not in html and "归档课程" not in html
    html = client.get("/courses/?status=all").get_data(as_text=True)
    assert "草稿课程" not in html


def test_organizer_filters_by_status(client):
    make_course(title="草稿课程", status=CourseStatus.DRAFT)
    _organizer(client)
    assert "草稿课程" in client.get("/courses/?status=draft").get_data(as_text=True)
    assert "草稿课程" in client.get("/courses/?status=all").get_data(as_text=True)
    assert "草稿课程" not in client.get("/courses/").get_data(as_text=True)


def test_filters_by_theme_format_category_and_title(client):
    rules = make_theme("党章党规")
    safety = make_theme("安全生产")
    make_course(title="学习党章", theme=rules, categories={Category.MEMBER})
    make_course(
        title="安全生产法",
        theme=safety,
        format=CourseFormat.EXPERT_TALK,
        categories={Category.YOUTH},
    )
    login(client, make_user())

    def titles(**query):
        html = client.get("/courses/", query_string=query).get_data(as_text=True)
        return {t for t in ("学习党章", "安全生产法") if t in html}

    assert titles(theme_id=rules.id) == {"学习党章"}
    assert titles(format="expert_talk") == {"安全生产法"}
    assert titles(category="youth") == {"安全生产法"}
    assert titles(q="党章") == {"学习党章"}
    assert titles(q="%") == set()
    assert titles(theme_id="x", format="??", category="emperor", page="-3") == {
        "学习党章",
        "安全生产法",
    }


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        "[click](javascript:alert(1))",
        '<img src=x onerror="alert(1)">',
        '<a href="#" onclick="alert(1)">x</a>',
        "[x](JaVaScRiPt:alert(1))",
    ],
)
def test_markdown_renders_harmless(client, markdown):
    course = make_course(description=f"正文\n\n{markdown}\n\n**加粗**")
    login(client, make_user())
    html = client.get(f"/courses/{course.id}").get_data(as_text=True)
    body = html.split('class="course-description">', 1)[1].split("</div>", 1)[0]
    tags = _tags(body)
    assert {name for name, _attrs in tags} <= {"p", "strong", "a", "em"}
    for _name, attrs in tags:
        assert not any(key.startswith("on") for key, _value in attrs)
        assert not any(
            (value or "").strip().lower().startswith("javascript") for _key, value in attrs
        )
    assert "<strong>加粗</strong>" in body


def test_markdown_keeps_safe_links_with_rel(client):
    course = make_course(description="[党章](https://www.12371.cn/)")
    login(client, make_user())
    html = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert 'href="https://www.12371.cn/"' in html and 'rel="noopener noreferrer nofollow"' in html


def _course_form(theme, lecturer=None, **overrides):
    data = {
        "code": "NEW-1",
        "title": "新课程",
        "theme_id": str(theme.id),
        "format": "party_lecture",
        "hours": "1.5",
        "description": "## 介绍",
        "categories": ["member", "probationary"],
        "lecturer_ids": [str(lecturer.id)] if lecturer else [],
    }
    data.update(overrides)
    return data


def test_create_course_as_draft_with_fractional_hours(client):
    theme = make_theme()
    lecturer = make_user(roles={Role.LECTURER})
    _organizer(client)
    response = client.post("/courses/new", data=_course_form(theme, lecturer))
    assert response.status_code == 302
    course = db.session.scalar(db.select(Course).where(Course.code == "NEW-1"))
    assert course.hours == Decimal("1.5") and course.status is CourseStatus.DRAFT
    assert set(course.categories) == {Category.MEMBER, Category.PROBATIONARY}
    assert course.lecturers == [lecturer]


def test_course_form_refuses_bad_input(client):
    theme = make_theme()
    make_course(code="TAKEN")
    trainee = make_user()
    _organizer(client)
    before = db.session.scalar(db.select(db.func.count()).select_from(Course))
    for overrides, message in [
        ({"code": "TAKEN"}, "该课程编号已存在"),
        ({"code": "../x"}, "编号只能包含"),
        ({"hours": "0"}, "0.5 到 100"),
        ({"hours": "1.25"}, "一位小数"),
        ({"hours": "abc"}, "有效"),
        ({"title": ""}, "必填"),
        ({"categories": ["emperor"]}, "所选项无效"),
        ({"lecturer_ids": [str(trainee.id)]}, "所选项无效"),
        ({"theme_id": "999999"}, "有效的选择"),
    ]:
        response = client.post("/courses/new", data=_course_form(theme, **overrides))
        assert response.status_code == 200, overrides
        assert message in response.get_data(as_text=True), overrides
    assert db.session.scalar(db.select(db.func.count()).select_from(Course)) == before


def test_publish_archive_and_audit(client):
    course = make_course(status=CourseStatus.DRAFT)
    _organizer(client)
    client.post(f"/courses/{course.id}/status?to=published")
    assert course.status is CourseStatus.PUBLISHED
    client.post(f"/courses/{course.id}/status?to=archived")
    assert course.status is CourseStatus.ARCHIVED
    assert client.post(f"/courses/{course.id}/status?to=deleted").status_code == 400
    actions = db.session.scalars(db.select(AuditLog.action).where(AuditLog.target_type == "course"))
    assert list(actions) == ["course.status", "course.status"]


def test_add_theme(client):
    _organizer(client)
    client.post("/courses/themes", data={"name": "党史学习"})
    assert db.session.scalar(db.select(Theme).where(Theme.name == "党史学习"))
    response = client.post("/courses/themes", data={"name": "党史学习"})
    assert "该主题已存在" in response.get_data(as_text=True)


def test_shipped_catalog_covers_every_theme_and_loads_idempotently():
    first = load_catalog(shipped("content") / "catalog")
    assert first == "catalog: 12 new courses, 0 updated"
    courses = db.session.scalars(db.select(Course)).all()
    assert len(courses) >= 12
    assert {c.theme.name for c in courses} == {
        "宗旨意识",
        "理想信念",
        "政治纪律",
        "形势任务",
        "党章党规",
        "《条例》《准则》",
        "廉政教育",
        "安全生产",
    }
    assert {c.format for c in courses} == set(CourseFormat)
    assert load_catalog(shipped("content") / "catalog") == "catalog: 0 new courses, 0 updated"


@pytest.mark.parametrize(
    ("front_matter", "field"),
    [
        ("code: ''\ntitle: T\ntheme: 党章党规\nformat: 党课\nhours: 1", "code"),
        ("code: X1\ntitle: T\ntheme: 火星\nformat: 党课\nhours: 1", "theme"),
        ("code: X1\ntitle: T\ntheme: 党章党规\nformat: 跳舞\nhours: 1", "format"),
        ("code: X1\ntitle: T\ntheme: 党章党规\nformat: 党课\nhours: 1.25", "hours"),
        ("code: X1\ntitle: T\ntheme: 党章党规\nformat: 党课\nhours: many", "hours"),
        (
            "code: X1\ntitle: T\ntheme: 党章党规\nformat: 党课\nhours: 1\ncategories: [皇帝]",
            "categories",
        ),
        ("code: X1\ntitle: T\ntheme: 党章党规\nformat: 党课\nhours: 1\nstatus: gone", "status"),
    ],
)
def test_bad_catalog_file_names_file_and_field_and_loads_nothing(
    tmp_path: Path, front_matter, field
):
    (tmp_path / "themes.yaml").write_text("- 党章党规\n", encoding="utf-8")
    (tmp_path / "a-good.md").write_text(
        "---\ncode: GOOD\ntitle: 好课程\ntheme: 党章党规\nformat: 党课\nhours: 2\n---\n正文\n",
        encoding="utf-8",
    )
    (tmp_path / "b-bad.md").write_text(f"---\n{front_matter}\n---\n正文\n", encoding="utf-8")
    with pytest.raises(ContentError) as error:
        load_catalog(tmp_path)
    assert str(error.value).startswith(f"b-bad.md: {field}:")
    db.session.rollback()  # as the CLI does
    assert db.session.scalar(db.select(Course).where(Course.code == "GOOD")) is None


def test_status_filter_defaults_to_published_for_organizers(client):
    _organizer(client)
    html = client.get("/courses/").get_data(as_text=True)
    assert '<option selected value="published">' in html


def _edit_form(course, **changes):
    data = {
        "code": course.code,
        "title": course.title,
        "theme_id": course.theme_id,
        "format": course.format.value,
        "hours": str(course.hours),
        "description": course.description,
        "categories": [c.value for c in course.categories],
        "lecturer_ids": [u.id for u in course.lecturers],
    }
    data.update(changes)
    return data


def test_cached_listing_shows_every_change_at_once(client):
    lecturer = make_user(roles={Role.LECTURER})
    course = make_course(title="学习党章")
    organizer = make_user(roles={Role.ORGANIZER, Role.ADMIN})
    login(client, organizer)
    assert "学习党章" in client.get("/courses/").get_data(as_text=True)
    assert "学习党章" in client.get("/courses/").get_data(as_text=True)  # now from the cache

    client.post(f"/courses/{course.id}/edit", data=_edit_form(course, title="尊崇党章"))
    html = client.get("/courses/").get_data(as_text=True)
    assert "尊崇党章" in html and "学习党章" not in html

    # Only the lecturers change: the card must still show them.
    client.post(f"/courses/{course.id}/edit", data=_edit_form(course, lecturer_ids=[lecturer.id]))
    assert lecturer.name in client.get("/courses/").get_data(as_text=True)

    # The lecturer is renamed by an admin: their name on the card follows.
    client.post(
        f"/admin/users/{lecturer.id}",
        data={"roles": ["lecturer"], "active": "y", "display_name": "王喆老师"},
    )
    assert "王喆老师" in client.get("/courses/").get_data(as_text=True)

    # A new theme appears among the filters.
    client.post("/courses/themes", data={"name": "新时代党建"})
    assert "新时代党建" in client.get("/courses/").get_data(as_text=True)


def test_cached_listing_is_per_language_and_role(client):
    make_course(title="学习党章", status=CourseStatus.DRAFT)
    login(client, make_user(roles={Role.ORGANIZER}))
    assert "学习党章" in client.get("/courses/?status=draft").get_data(as_text=True)
    login(client, make_user())
    assert "学习党章" not in client.get("/courses/?status=draft").get_data(as_text=True)
    html = client.get("/courses/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "All themes" in html


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("1e27", "有效的数字"),
        ("Infinity", "有效的数字"),
        ("-Infinity", "有效的数字"),
        ("sNaN", "有效的数字"),
        ("NaN", "有效的数字"),
        ("-2", "0.5 到 100"),
        ("1.25", "一位小数"),
        ("1.0000000000000000000000000001", "一位小数"),
    ],
)
def test_course_hours_that_are_not_a_plain_number_are_refused(client, hours, message):
    theme = make_theme()
    _organizer(client)
    response = client.post("/courses/new", data=_course_form(theme, hours=hours))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Course)) == 0
