"""Certificates: eligibility, issuing (idempotent, sequential serials, never duplicated), real
CJK glyphs in the PDF, downloads, ZIP and combined PDF, verification, revocation, reissue, and
the sandboxed template editor."""

from __future__ import annotations

import io
import os
import re
import threading
import zipfile
from datetime import date, time
from decimal import Decimal
from html import unescape

import pytest
import sqlalchemy as sa
from fontTools.ttLib import TTFont, TTLibError
from pypdf import PdfReader

from lms.attendance.models import Attendance, AttendanceMethod, AttendanceStatus
from lms.auth.models import Role
from lms.certificates import eligibility, issuing, rendering, sandbox, storage
from lms.certificates.models import (
    Certificate,
    CertificateStatus,
    CertificateTemplate,
    IssuanceJob,
    JobStatus,
)
from lms.extensions import db
from lms.quizzes import attempts
from lms.quizzes.models import AttemptStatus
from tests.conftest import login
from tests.factories import (
    make_course,
    make_enrollment,
    make_lesson,
    make_member,
    make_question,
    make_quiz,
    make_session,
    make_user,
)


def _attend(member, lesson, status=AttendanceStatus.PRESENT):
    db.session.add(
        Attendance(
            member_id=member.id, lesson_id=lesson.id, status=status, method=AttendanceMethod.MANUAL
        )
    )
    db.session.flush()


@pytest.fixture
def course_session():
    session = make_session(start=date(2026, 11, 26))
    first = make_lesson(session=session, course=make_course(hours="3"))
    second = make_lesson(
        session=session,
        course=make_course(hours="1.5"),
        day=date(2026, 11, 27),
        start=time(14),
        end=time(16),
    )
    return session, [first, second]


def _graduate(session, lessons, name="王𠮷祥"):
    member = make_member(name=name)
    make_enrollment(session, member)
    for lesson in lessons:
        _attend(member, lesson)
    return member


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _embedded_codepoints(pdf: bytes) -> set[int]:
    """Every character the embedded fonts can draw (from their cmaps)."""
    reader = PdfReader(io.BytesIO(pdf))
    found: set[int] = set()
    for page in reader.pages:
        fonts = page["/Resources"]["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            descriptor = (
                descendants[0].get_object()["/FontDescriptor"]
                if descendants
                else font.get("/FontDescriptor")
            )
            if descriptor is None:
                continue
            descriptor = descriptor.get_object()
            for key in ("/FontFile2", "/FontFile3", "/FontFile"):
                if key in descriptor:
                    data = descriptor[key].get_object().get_data()
                    try:
                        cmap = TTFont(io.BytesIO(data)).getBestCmap() or {}
                    except TTLibError:  # a bare CFF table has no cmap of its own
                        continue
                    found |= set(cmap)
    return found


def test_eligibility_explains_who_misses_what(course_session):
    session, lessons = course_session
    done = _graduate(session, lessons)
    partial = make_member(name="李四")
    make_enrollment(session, partial)
    _attend(partial, lessons[0])
    late = make_member(name="赵五")
    make_enrollment(session, late)
    for lesson in lessons:
        _attend(late, lesson, AttendanceStatus.LATE)
    rows = {row.member.id: row for row in eligibility.session_eligibility(session)}
    assert rows[done.id].eligible and rows[done.id].hours == Decimal("4.5")
    assert (
        not rows[partial.id].eligible and "出勤学时 3.0 / 应达 4.5" in rows[partial.id].reasons[0]
    )
    assert rows[late.id].eligible  # lateness counts as present by default
    session.late_counts = False
    rows = {row.member.id: row for row in eligibility.session_eligibility(session)}
    assert not rows[late.id].eligible


def test_the_session_quiz_must_be_passed(course_session):
    session, lessons = course_session
    member = _graduate(session, lessons)
    quiz = make_quiz([make_question(correct=[1])], session=session, pass_mark=100)
    (row,) = eligibility.session_eligibility(session)
    assert not row.eligible and "未参加测试" in row.reasons[0]
    attempt = attempts.start_attempt(quiz, member)
    attempts.save_answer(attempt, 1, {"choices": [0]})
    attempts.finish_attempt(attempt, AttemptStatus.SUBMITTED)
    (row,) = eligibility.session_eligibility(session)
    assert not row.eligible and "未及格" in row.reasons[0]
    session.quiz_required = False
    (row,) = eligibility.session_eligibility(session)
    assert row.eligible


def test_issue_renders_real_glyphs_and_is_idempotent(client, course_session, app):
    session, lessons = course_session
    names = ["王𠮷祥", "张喆", "李堃", "陈昇", "赵玥"]
    members = [_graduate(session, lessons, name) for name in names]
    login(client, make_user(roles={Role.ORGANIZER}))
    response = client.post(f"/certificates/sessions/{session.id}/issue")
    assert response.status_code == 302
    job = db.session.scalar(sa.select(IssuanceJob))
    assert job.status is JobStatus.DONE and (job.total, job.issued) == (5, 5)
    certificates = db.session.scalars(sa.select(Certificate).order_by(Certificate.serial)).all()
    year = date.today().year
    assert [c.serial for c in certificates] == [f"DX{year}-{n:05d}" for n in range(1, 6)]
    assert {c.member_id for c in certificates} == {m.id for m in members}
    for certificate in certificates:
        pdf = storage.certificate_path(certificate.pdf_sha256).read_bytes()
        assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
        text = _text(pdf)
        assert certificate.name in text and certificate.serial in text and "4.5" in text
        drawable = _embedded_codepoints(pdf)
        missing = [ch for ch in certificate.name if ord(ch) not in drawable]
        assert not missing, f"no glyph for {missing} in {certificate.name}"
    # Issuing again issues nothing new.
    client.post(f"/certificates/sessions/{session.id}/issue")
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 5


def test_a_job_whose_worker_died_is_recovered_by_issuing_again(client, course_session):
    """The worker was killed mid-job: the job stays "running" for ever; issuing again starts a
    new job, which issues what is missing and nothing twice."""
    session, lessons = course_session
    members = [_graduate(session, lessons, name) for name in ("张喆", "李堃")]
    organizer = make_user(roles={Role.ORGANIZER})
    issuing.issue_batch(issuing.to_issue(session)[:1], session=session)
    dead = IssuanceJob(session_id=session.id, status=JobStatus.RUNNING, total=2, done=1)
    db.session.add(dead)
    db.session.flush()
    login(client, organizer)
    page = client.get(f"/certificates/jobs/{dead.id}").get_data(as_text=True)
    assert "再点一次" in page  # the way out is on the page that seems stuck
    client.post(f"/certificates/sessions/{session.id}/issue")
    new = db.session.scalars(sa.select(IssuanceJob).where(IssuanceJob.id != dead.id)).one()
    assert new.status is JobStatus.DONE and (new.total, new.issued) == (1, 1)
    holders = db.session.scalars(sa.select(Certificate.member_id)).all()
    assert sorted(holders) == sorted(m.id for m in members)


def test_downloads_are_for_the_owner_and_organizers(client, course_session):
    session, lessons = course_session
    member = _graduate(session, lessons)
    (certificate,) = issuing.issue_batch(issuing.to_issue(session), session=session)
    owner = make_user(roles={Role.TRAINEE}, member=member)
    login(client, owner)
    response = client.get(f"/certificates/{certificate.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data == storage.certificate_path(certificate.pdf_sha256).read_bytes()
    assert certificate.serial in client.get("/certificates/mine").get_data(as_text=True)
    login(client, make_user(roles={Role.TRAINEE}, member=make_member()))
    assert client.get(f"/certificates/{certificate.id}.pdf").status_code == 403


def test_zip_and_combined_pdf(client, course_session):
    session, lessons = course_session
    for name in ("甲一", "乙二", "丙三"):
        _graduate(session, lessons, name)
    issuing.issue_batch(issuing.to_issue(session), session=session)
    login(client, make_user(roles={Role.ORGANIZER}))
    response = client.get(f"/certificates/sessions/{session.id}/certificates.zip")
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert len(archive.namelist()) == 3 and all(n.endswith(".pdf") for n in archive.namelist())
    assert archive.testzip() is None
    combined = client.get(f"/certificates/sessions/{session.id}/combined.pdf").data
    assert len(PdfReader(io.BytesIO(combined)).pages) == 3


def test_verification_revocation_and_reissue(client, course_session):
    session, lessons = course_session
    member = _graduate(session, lessons, name="张小明")
    (certificate,) = issuing.issue_batch(issuing.to_issue(session), session=session)
    anonymous = client.application.test_client()
    html = anonymous.get(f"/verify/{certificate.verify_token}").get_data(as_text=True)
    assert "张*明" in html and "张小明" not in html and "证书有效" in html
    assert "证书不存在或无效" not in html

    login(client, make_user(roles={Role.ORGANIZER}))
    member.name = "张晓明"  # the name was wrong: correct it and reissue
    db.session.flush()
    client.post(f"/certificates/{certificate.id}/reissue")
    new = db.session.scalar(
        sa.select(Certificate).where(Certificate.status == CertificateStatus.LIVE)
    )
    assert new.serial == certificate.serial and new.replaces_id == certificate.id
    assert new.name == "张晓明" and certificate.status is CertificateStatus.REPLACED
    assert "已换发新证" in anonymous.get(f"/verify/{certificate.verify_token}").get_data(
        as_text=True
    )
    client.post(f"/certificates/{new.id}/revoke", data={"reason": ""})
    assert new.status is CertificateStatus.LIVE
    client.post(f"/certificates/{new.id}/revoke", data={"reason": "考核成绩作废"})
    html = anonymous.get(f"/verify/{new.verify_token}").get_data(as_text=True)
    assert "证书已撤销" in html and "考核成绩作废" in html


def test_issuing_revoking_and_reissuing_are_audited(client, course_session):
    from lms.audit.models import AuditLog

    session, lessons = course_session
    member = _graduate(session, lessons, name="张小明")
    organizer = make_user(roles={Role.ORGANIZER})
    login(client, organizer)
    client.post(f"/certificates/sessions/{session.id}/issue")
    certificate = db.session.scalar(sa.select(Certificate))
    member.name = "张晓明"
    db.session.flush()
    client.post(f"/certificates/{certificate.id}/reissue")
    new = db.session.scalar(
        sa.select(Certificate).where(Certificate.status == CertificateStatus.LIVE)
    )
    client.post(f"/certificates/{new.id}/revoke", data={"reason": "考核成绩作废"})
    entries = db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id)).all()
    assert [(e.action, e.target_id, e.actor_id) for e in entries] == [
        ("certificate.issued", str(certificate.id), organizer.id),
        ("certificate.reissued", str(new.id), organizer.id),
        ("certificate.revoked", str(new.id), organizer.id),
    ]
    assert entries[0].details == {"serial": certificate.serial, "session": session.id}
    login(client, make_user(roles={Role.ADMIN}))
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "颁发证书" in html and "换发证书" in html and "撤销证书" in html
    assert f"证书 {certificate.serial} 张小明" in html and session.title in html


@pytest.mark.parametrize(
    ("referrer", "expected"),
    [
        ("http://evil.example/phish", "/certificates/mine"),
        ("https://evil.example/certificates/mine", "/certificates/mine"),
        ("//evil.example/x", "/certificates/mine"),
        ("javascript:alert(1)", "/certificates/mine"),
        ("http://localhost/certificates/sessions/7?page=2", "/certificates/sessions/7?page=2"),
    ],
)
@pytest.mark.parametrize("action", ["revoke", "reissue"])
@pytest.mark.security
def test_revoke_and_reissue_go_back_only_inside_the_site(
    client, course_session, action, referrer, expected
):
    session, lessons = course_session
    _graduate(session, lessons, name="张小明")
    (certificate,) = issuing.issue_batch(issuing.to_issue(session), session=session)
    login(client, make_user(roles={Role.ORGANIZER}))
    response = client.post(
        f"/certificates/{certificate.id}/{action}",
        data={"reason": "考核成绩作废"},
        headers={"Referer": referrer},
    )
    assert response.status_code == 302 and response.location == expected
    assert certificate.status is not CertificateStatus.LIVE  # the action itself was done


@pytest.mark.parametrize(
    "token", ["not-a-token", "x" * 32, "a" * 65, "%3Cscript%3E", "a" * 5000, "证书"]
)
def test_an_unknown_verification_code_says_so_and_what_to_do(client, course_session, token):
    session, lessons = course_session
    _graduate(session, lessons)
    issuing.issue_batch(issuing.to_issue(session), session=session)
    response = client.get(f"/verify/{token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "证书不存在或无效" in html and "联系颁发证书的党校" in html and "王" not in html


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("<p>{{ name </p>", "模板有误（第 1 行：<p>{{ name </p>）"),
        (
            "<p>\n{{ nosuchthing }}</p>",
            "第 2 行：{{ nosuchthing }}</p>）：不认识的变量「nosuchthing」",
        ),
        ("<p>{{ name.__class__.__mro__ }}</p>", "出于安全原因，模板不能使用「__class__」"),
        ("{% for x in name %}\n{{ x }}", "缺少结束标记"),
        ("{% frobnicate %}", "不认识的标签「frobnicate」"),
        ("<p>\n\n{{ 1 // 0 }}</p>", "第 3 行：{{ 1 // 0 }}</p>）：除数为零"),
        ('<img src="file:///etc/passwd">', "不允许使用外部地址"),
        ('<img src="http://example.com/x.png">', "不允许使用外部地址"),
    ],
)
@pytest.mark.security
def test_bad_templates_are_refused_and_not_saved(client, html, message):
    login(client, make_user(roles={Role.ADMIN}))
    response = client.post(
        "/certificates/template", data={"action": "save", "html": html, "css": "body{}"}
    )
    assert message in unescape(response.get_data(as_text=True))
    assert db.session.scalar(sa.select(sa.func.count(CertificateTemplate.id))) == 0


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("{{ range(10**9)|length }}", "参数过大"),
        ("<p>\n{{ 9**99999 }}</p>", "第 2 行：{{ 9**99999 }}</p>）：数字过大"),
        ("{{ 'x' * 10**9 }}", "生成的文字或列表过长"),
        ("{{ [1] * 10**9 }}", "生成的文字或列表过长"),
        ("{% for i in range(10**7) %}{% endfor %}", "参数过大"),
        (
            "{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}",
            "循环次数过多",
        ),
        (
            "{% for c in 'x' * 99999 %}{% for d in 'y' * 99999 %}{% endfor %}{% endfor %}",
            "循环次数过多",
        ),
        ("{{ '%0999999999d' % 1 }}", "参数过大"),
        ("{{ '%*d' % (999999999, 1) }}", "参数过大"),
        ("{{ '{:>999999999}'.format(1) }}", "参数过大"),
        ("{{ '%0999999999d'|format(1) }}", "参数过大"),
        ("{{ 'x'|center(999999999) }}", "参数过大"),
        ("{{ 'x'.ljust(10**9) }}", "参数过大"),
        (
            "{% set ns = namespace(s='xx') %}{% for i in range(60) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "生成的文字或列表过长",
        ),
        (
            "{% set ns = namespace(n=3) %}{% for i in range(60) %}"
            "{% set ns.n = ns.n * ns.n %}{% endfor %}",
            "数字过大",
        ),
        ("{% for i in range(9000) %}{{ 'x' * 9000 }}{% endfor %}", "生成的页面过长"),
    ],
)
@pytest.mark.security
def test_templates_that_would_burn_cpu_or_memory_are_refused(client, html, message):
    login(client, make_user(roles={Role.ADMIN}))
    response = client.post(
        "/certificates/template", data={"action": "save", "html": html, "css": "body{}"}
    )
    assert response.status_code == 200 and message in unescape(response.get_data(as_text=True))
    assert db.session.scalar(sa.select(sa.func.count(CertificateTemplate.id))) == 0
    with pytest.raises(sandbox.TemplateLimit):
        sandbox.render(html, {})


def test_the_bounded_sandbox_still_renders_ordinary_templates():
    source = (
        "{% for c in name %}{{ loop.index }}{{ c }}{% endfor %} {{ 2**10 }} {{ 'ab' * 3 }} "
        "{{ '%05d' % 7 }} {{ '{:>4}'.format(hours) }} {{ name|center(6) }} {{ name ~ '同志' }}"
    )
    assert sandbox.render(source, {"name": "王祥", "hours": "3"}) == (
        "1王2祥 1024 ababab 00007    3   王祥   王祥同志"
    )


def test_css_problems_are_reported_with_their_line_and_the_template_is_not_saved(client):
    login(client, make_user(roles={Role.ADMIN}))
    data = {"html": "<p>{{ name }}</p>", "css": "p { color: red; }\nh1 { colr: blue; }"}
    for action in ("save", "preview"):
        response = client.post("/certificates/template", data={**data, "action": action})
        assert response.mimetype == "text/html"
        assert "CSS 第 2 行：「colr: blue」无法识别，已被忽略" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(CertificateTemplate.id))) == 0


def test_the_default_template_reads_in_chinese_and_renders_without_problems(app):
    html, css = rendering.default_template()
    comments = re.findall(r"\{#.*?#\}", html, re.S) + re.findall(r"/\*.*?\*/", css, re.S)
    assert comments and not any(re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", c) for c in comments)
    assert _text(rendering.render_document([rendering.sample_data()], html, css))


def test_the_preview_opens_in_place_and_marks_its_serial_as_a_sample(client):
    login(client, make_user(roles={Role.ADMIN}))
    page = client.get("/certificates/template").get_data(as_text=True)
    assert 'value="preview"' in page and "_blank" not in page
    broken = client.post(
        "/certificates/template", data={"action": "preview", "html": "{{ name", "css": ""}
    )
    assert broken.mimetype == "text/html" and "模板有误（第 1 行" in broken.get_data(as_text=True)
    html, css = rendering.default_template()
    preview = client.post(
        "/certificates/template", data={"action": "preview", "html": html, "css": css}
    )
    assert preview.mimetype == "application/pdf"
    assert "样例-DX2026-00001" in _text(preview.data)


@pytest.mark.security
def test_css_with_an_outside_url_is_refused(client):
    login(client, make_user(roles={Role.ADMIN}))
    response = client.post(
        "/certificates/template",
        data={
            "action": "preview",
            "html": "<p>{{ name }}</p>",
            "css": "body{background:url(https://x.org/a.png)}",
        },
    )
    assert "不允许使用外部地址" in response.get_data(as_text=True)


def test_template_edit_preview_and_default(client):
    login(client, make_user(roles={Role.ADMIN}))
    data = {"html": "<h1>结业证书</h1><p>{{ name }} {{ serial }}</p>", "css": "h1{color:red}"}
    preview = client.post("/certificates/template", data={**data, "action": "preview"})
    assert preview.mimetype == "application/pdf" and "王𠮷祥" in _text(preview.data)
    client.post("/certificates/template", data={**data, "action": "save"})
    assert rendering.current_template() == (data["html"], data["css"])
    client.post("/certificates/template", data={"action": "default"})
    assert rendering.current_template() == rendering.default_template()


@pytest.mark.parametrize(
    ("name", "masked"), [("张三", "张*"), ("张小明", "张*明"), ("欧阳小明", "欧**明"), ("王", "王")]
)
def test_masked_names(name, masked):
    assert issuing.mask_name(name) == masked


def test_cli_issues_with_a_progress_bar(runner, course_session):
    session, lessons = course_session
    _graduate(session, lessons)
    result = runner.invoke(args=["certificates", "issue", "--session", str(session.id)])
    assert result.exit_code == 0, result.output
    assert "1 certificates issued" in result.output
    again = runner.invoke(args=["certificates", "issue", "--session", str(session.id)])
    assert "0 certificates issued" in again.output


@pytest.mark.skipif(
    not os.environ.get("LMS_TEST_DATABASE_URL"), reason="needs PostgreSQL's row locks"
)
def test_serials_never_repeat_when_issued_at_once(app):
    """Two issuances at the same moment, each on its own connection: every serial unique."""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    from sqlalchemy.orm import Session

    from lms.certificates.models import SerialCounter

    got: list[str] = []
    lock = threading.Lock()

    def issue(n: int) -> None:
        with app.app_context():
            for _ in range(n):
                with Session(engine) as session, session.begin():
                    db.session.registry.set(session)  # the service uses db.session
                    serial = issuing.next_serial("RACE", 2099)
                with lock:
                    got.append(serial)
            db.session.registry.clear()

    threads = [threading.Thread(target=issue, args=(40,)) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(got) == 80 and len(set(got)) == 80
    finally:
        with engine.begin() as connection:
            connection.execute(sa.delete(SerialCounter).where(SerialCounter.prefix == "RACE"))
        engine.dispose()


def test_a_large_batch_renders_in_parallel_and_each_file_is_its_own(app, course_session):
    """Above the parallel threshold the batch is split over worker processes; each member's
    file must still be one page with their own name, serial and QR code only."""
    session, lessons = course_session
    for n in range(rendering.PARALLEL_MIN + 2):
        _graduate(session, lessons, name=f"学员{n}号")
    saved = app.config["CERT_RENDER_PROCESSES"]
    app.config["CERT_RENDER_PROCESSES"] = 2
    try:
        certificates = issuing.issue_batch(issuing.to_issue(session), session=session)
    finally:
        app.config["CERT_RENDER_PROCESSES"] = saved
        rendering.shutdown_render_pool()
    assert len(certificates) == rendering.PARALLEL_MIN + 2
    for certificate in certificates:
        reader = PdfReader(
            io.BytesIO(storage.certificate_path(certificate.pdf_sha256).read_bytes())
        )
        assert len(reader.pages) == 1
        text = reader.pages[0].extract_text()
        assert certificate.name in text and certificate.serial in text
        images = reader.pages[0]["/Resources"].get("/XObject", {})
        assert len(images) <= 3  # the member's QR code, the seal and the emblem: nobody else's


def test_a_cohort_gets_its_own_members_certificates(client, course_session):
    from lms.rotation.models import Cohort, CohortMember
    from tests.factories import make_cycle

    session, lessons = course_session
    inside, outside = _graduate(session, lessons, "甲"), _graduate(session, lessons, "乙")
    cycle = make_cycle()
    cohort = Cohort(cycle_id=cycle.id, session_id=session.id)
    db.session.add(cohort)
    db.session.flush()
    db.session.add(CohortMember(cohort_id=cohort.id, cycle_id=cycle.id, member_id=inside.id))
    db.session.flush()
    login(client, make_user(roles={Role.ORGANIZER}))
    html = client.get(f"/certificates/cohorts/{cohort.id}").get_data(as_text=True)
    assert "甲" in html and "乙" not in html
    client.post(f"/certificates/cohorts/{cohort.id}/issue")
    holders = set(db.session.scalars(sa.select(Certificate.member_id)))
    assert holders == {inside.id} and outside.id not in holders
    archive = zipfile.ZipFile(
        io.BytesIO(client.get(f"/certificates/cohorts/{cohort.id}/certificates.zip").data)
    )
    assert len(archive.namelist()) == 1
