"""Completion certificates: who is eligible and why not, the sandboxed template, fast bulk
rendering (one document per batch, split into one PDF per member), serial numbers that never
repeat, stored files, revocation, reissue and public verification."""

from __future__ import annotations

import hashlib
import io
import logging
import multiprocessing
import os
import re
import secrets
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import segno
import sqlalchemy as sa
from babel.dates import format_date
from flask import current_app, render_template
from flask_babel import gettext as _
from jinja2 import TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject
from sqlalchemy.dialects import postgresql, sqlite

from lms.attendance.models import ATTENDED, Attendance, AttendanceStatus
from lms.audit.services import record_audit
from lms.auth.models import User
from lms.catalog.models import Course
from lms.certificates import sandbox
from lms.certificates.models import (
    Certificate,
    CertificateStatus,
    CertificateTemplate,
    SerialCounter,
)
from lms.clock import local_today
from lms.database import utcnow
from lms.extensions import db
from lms.files import atomic_file
from lms.notifications.services import notify_members
from lms.org.models import Member
from lms.paths import shipped
from lms.pdf import render_pdf
from lms.quizzes.attempts import counting_attempt
from lms.quizzes.models import Quiz, QuizStatus
from lms.rotation.models import CohortMember, RotationCycle
from lms.rotation.services import Coverage, coverage_states, cycle_hours, population
from lms.sessions.models import Enrollment, Lesson, TrainingSession

DEFAULT_DIR = "default"
BATCH = 50
URL_PATTERNS = (
    re.compile(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE),
    re.compile(r"""url\(\s*['"]?([^'")\s]+)""", re.IGNORECASE),
    re.compile(r"""@import\s+['"]([^'"]+)""", re.IGNORECASE),
)


class TemplateProblem(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- eligibility -----------------------------------------------------------------------------


@dataclass
class Eligibility:
    member: Member
    eligible: bool
    hours: Decimal
    reasons: list[str] = field(default_factory=list)


def session_eligibility(session: TrainingSession) -> list[Eligibility]:
    """Per enrolled member: attended enough of the lessons' hours (lateness counts as present
    unless the session says not) and passed the session's quiz (if required and it has one)."""
    lessons = db.session.execute(
        sa.select(Lesson.id, Course.hours)
        .join(Course, Course.id == Lesson.course_id)
        .where(Lesson.session_id == session.id)
    ).all()
    total = sum((hours for _id, hours in lessons), Decimal(0))
    hours_of = dict(lessons)
    counted = set(ATTENDED) if session.late_counts else ATTENDED - {AttendanceStatus.LATE}
    attended: dict[int, Decimal] = {}
    for member_id, lesson_id in db.session.execute(
        sa.select(Attendance.member_id, Attendance.lesson_id).where(
            Attendance.lesson_id.in_(list(hours_of)), Attendance.status.in_(counted)
        )
    ):
        attended[member_id] = attended.get(member_id, Decimal(0)) + hours_of[lesson_id]
    quizzes = db.session.scalars(
        sa.select(Quiz).where(
            Quiz.session_id == session.id,
            Quiz.status == QuizStatus.PUBLISHED,
            Quiz.practice.is_(False),
        )
    ).all()
    members = db.session.scalars(
        sa.select(Member)
        .join(Enrollment, Enrollment.member_id == Member.id)
        .where(
            Enrollment.session_id == session.id,
            Enrollment.in_session,
        )
        .order_by(Member.staff_no)
    ).all()
    needed = total * session.completion_percent / 100
    result = []
    for member in members:
        hours = attended.get(member.id, Decimal(0))
        reasons = []
        if not lessons:
            reasons.append(_("本期没有课次。"))
        elif hours < needed:
            reasons.append(
                _("出勤学时 %(got)s / 应达 %(need)s。", got=hours, need=needed.normalize())
            )
        if session.quiz_required:
            for quiz in quizzes:
                attempt = counting_attempt(quiz, member)
                if attempt is None:
                    reasons.append(_("未参加测试「%(title)s」。", title=quiz.title))
                elif not attempt.passed:
                    reasons.append(
                        _(
                            "测试「%(title)s」未及格（%(p)s%%）。",
                            title=quiz.title,
                            p=attempt.percent,
                        )
                    )
        if not member.active:
            reasons.append(_("已停用。"))
        result.append(
            Eligibility(member=member, eligible=not reasons, hours=hours, reasons=reasons)
        )
    return result


def cycle_eligibility(cycle: RotationCycle) -> list[Eligibility]:
    states = coverage_states(cycle)
    hours = cycle_hours(cycle, population(cycle).with_only_columns(Member.id))
    members = db.session.scalars(population(cycle).order_by(Member.staff_no)).all()
    return [
        Eligibility(
            member=m,
            eligible=states.get(m.id) == Coverage.TRAINED,
            hours=hours.get(m.id, Decimal(0)),
            reasons=[] if states.get(m.id) == Coverage.TRAINED else [_("尚未完成本轮训。")],
        )
        for m in members
    ]


# --- serials ---------------------------------------------------------------------------------


def next_serial(prefix: str, year: int) -> str:
    """The next serial for the prefix and year. The counter row is updated in this transaction,
    so a concurrent issuance waits for it (PostgreSQL row lock; SQLite writes one at a time)."""
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(SerialCounter)
    db.session.execute(insert.values(prefix=prefix, year=year, last=0).on_conflict_do_nothing())
    last = db.session.execute(
        sa.update(SerialCounter)
        .where(SerialCounter.prefix == prefix, SerialCounter.year == year)
        .values(last=SerialCounter.last + 1)
        .returning(SerialCounter.last)
    ).scalar_one()
    return f"{prefix}{year}-{last:05d}"


# --- the template ----------------------------------------------------------------------------


def default_template() -> tuple[str, str]:
    folder = shipped("content") / "certificates" / DEFAULT_DIR
    return (
        (folder / "certificate.html").read_text(encoding="utf-8"),
        (folder / "certificate.css").read_text(encoding="utf-8"),
    )


def current_template() -> tuple[str, str]:
    edited = db.session.scalar(
        sa.select(CertificateTemplate).order_by(CertificateTemplate.id.desc())
    )
    return (edited.html, edited.css) if edited is not None else default_template()


def _template_line(exc: Exception) -> int | None:
    """The template line an error comes from: Jinja gives a syntax error its line and rewrites a
    render error's traceback so that the template's frames carry the template's lines."""
    if isinstance(exc, TemplateSyntaxError):
        return exc.lineno
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _template_reason(exc: Exception) -> str:
    text = str(exc)
    quoted = re.search(r"'([^']+)'", text)
    name = quoted.group(1) if quoted else ""
    if isinstance(exc, sandbox.TemplateLimit):
        return {
            "steps": _("循环次数过多（一页最多 %(max)s 次）", max=sandbox.MAX_STEPS),
            "length": _("生成的文字或列表过长（最多 %(max)s 个字符或项）", max=sandbox.MAX_LENGTH),
            "number": _("数字过大"),
            "argument": _("参数过大（不能超过 %(max)s）", max=sandbox.MAX_LENGTH),
            "output": _("生成的页面过长（最多 %(max)s 个字符）", max=sandbox.MAX_OUTPUT),
        }[exc.kind]
    if isinstance(exc, TemplateSyntaxError):
        lowered = text.lower()
        if "unexpected end of template" in lowered:
            return _("模板没有写完，缺少结束标记（如 }}、%}、{% endif %} 或 {% endfor %}）")
        if "unknown tag" in lowered:
            return _("不认识的标签「%(name)s」", name=name)
        if "expected token" in lowered or "unexpected" in lowered:
            return _("{{ … }} 或 {% … %} 没有正确闭合")
        return _("语法错误")
    if isinstance(exc, UndefinedError):
        if "has no attribute" in text:
            attribute = re.findall(r"'([^']+)'", text)[-1]
            return _("没有「%(name)s」这一项", name=attribute)
        return _("不认识的变量「%(name)s」（可用的变量见上方说明）", name=name)
    if isinstance(exc, SecurityError):
        return (
            _("出于安全原因，模板不能使用「%(name)s」", name=name)
            if name
            else _("出于安全原因，模板不能这样写")
        )
    if isinstance(exc, ZeroDivisionError):
        return _("除数为零")
    if isinstance(exc, RecursionError):
        return _("宏调用嵌套过深")
    return _("无法计算（%(error)s）", error=type(exc).__name__)


def template_error(exc: Exception, html: str) -> str:
    """A template error in the user's language, with the line and its text."""
    reason = _template_reason(exc)
    line = _template_line(exc)
    lines = html.splitlines()
    if line is None or not 1 <= line <= len(lines):
        return _("模板有误：%(reason)s", reason=reason)
    return _(
        "模板有误（第 %(line)s 行：%(text)s）：%(reason)s",
        line=line,
        text=lines[line - 1].strip()[:80],
        reason=reason,
    )


def _forbidden_urls(text: str) -> list[str]:
    found = []
    for pattern in URL_PATTERNS:
        for url in pattern.findall(text):
            if not url.startswith(("asset:", "data:", "#")):
                found.append(url)
    return found


@dataclass
class CertificateData:
    name: str
    achievement: str
    start_date: date
    end_date: date
    hours: Decimal
    serial: str
    signatory: str
    issue_date: date
    verify_url: str


def _variables(item: CertificateData) -> dict:
    qr = segno.make(item.verify_url, error="m").png_data_uri(scale=4, border=1)
    return {
        "school": current_app.config["SCHOOL_NAME"],
        "name": item.name,
        "achievement": item.achievement,
        "start_date": format_date(item.start_date, "long", locale="zh_CN"),
        "end_date": format_date(item.end_date, "long", locale="zh_CN"),
        "hours": f"{item.hours.normalize():f}",
        "serial": item.serial,
        "signatory": item.signatory,
        "issue_date": format_date(item.issue_date, "long", locale="zh_CN"),
        "qr": qr,
        "seal": f"asset:/certificates/{DEFAULT_DIR}/seal.svg",
        "emblem": f"asset:/certificates/{DEFAULT_DIR}/emblem.svg",
    }


def document_html(
    items: list[CertificateData], html: str | None = None, css: str | None = None
) -> str:
    """The HTML of one document with a page per certificate (needs the app context: template,
    config); raises TemplateProblem for a bad template. Turning it into a PDF needs none."""
    if html is None or css is None:
        html, css = current_template()
    if bad := _forbidden_urls(css):
        raise TemplateProblem(_("模板中不允许使用外部地址：%(url)s", url=bad[0]))
    try:
        pages = [sandbox.render(html, _variables(item)) for item in items]
    except Exception as exc:  # the admin's template is code: whatever it raises is its error
        raise TemplateProblem(template_error(exc, html)) from exc
    for page in pages:
        if bad := _forbidden_urls(page):
            raise TemplateProblem(_("模板中不允许使用外部地址：%(url)s", url=bad[0]))
    return render_template("pdf/certificates.html", css=css, pages=pages)


def render_document(items: list[CertificateData], html: str | None = None, css: str | None = None):
    """One PDF with a page per certificate. Raises TemplateProblem for a bad template, and for
    CSS or images that WeasyPrint reports it had to ignore."""
    problems: list[logging.LogRecord] = []
    pdf = render_pdf(document_html(items, html, css), problems)
    if problems:
        raise TemplateProblem(_pdf_problem(problems[0]))
    return pdf


def _pdf_problem(record: logging.LogRecord) -> str:
    """WeasyPrint's warning in the user's language; CSS positions are lines of the CSS."""
    text = record.getMessage()
    where = re.search(r" at (\d+):(\d+)", text)
    quoted = re.search(r"`([^`]*)`", text)
    if text.startswith("Failed to load image"):
        url = re.search(r"'([^']*)'", text)
        return _("图片无法加载：%(url)s", url=url.group(1)[:120] if url else "")
    if where is None:
        return _("生成 PDF 时出现问题：%(detail)s", detail=text[:200])
    if quoted is not None:
        return _(
            "CSS 第 %(line)s 行：「%(text)s」无法识别，已被忽略",
            line=where.group(1),
            text=quoted.group(1)[:80],
        )
    return _("CSS 第 %(line)s 行有语法错误", line=where.group(1))


# A name token in a content stream (`/x1 Do`, `/F1 12 Tf`, `/a0.6 gs`, ...).
_NAME_TOKEN = re.compile(rb"/([^\s/\[\]()<>{}%]+)")


def split_pages(pdf: bytes) -> list[bytes]:
    """One self-contained PDF per page.

    WeasyPrint gives every page of a document the same resources dictionary, so a plain pypdf
    split copied every page's images (each member's QR code with its verification token) into
    every member's file, and the time grew with the square of the batch (200 pages: 100 ms and
    650 KB per page). Each page now keeps only the resources its content stream names (a form
    XObject carries its own resources, copied whole), so a member's file holds their own QR
    code, the seal and emblem, and the batch's font subsets: about 2 ms and 150 KB a page."""
    reader = PdfReader(io.BytesIO(pdf))
    out = []
    for page in reader.pages:
        contents = page.get_contents()
        data = contents.get_data() if contents is not None else b""
        used = {"/" + name.decode("latin-1") for name in _NAME_TOKEN.findall(data)}
        resources = page.get("/Resources")
        if resources is not None:
            pruned = DictionaryObject()
            for kind, entries in resources.get_object().items():
                entries = entries.get_object()
                if isinstance(entries, DictionaryObject):
                    entries = DictionaryObject({k: v for k, v in entries.items() if k in used})
                pruned[NameObject(kind)] = entries
            page[NameObject("/Resources")] = pruned
        writer = PdfWriter()
        writer.add_page(page)
        buffer = io.BytesIO()
        writer.write(buffer)
        out.append(buffer.getvalue())
    return out


def render_split(document: str) -> list[bytes]:
    """A rendered document HTML → one PDF per page. Needs no app context (runs in the pool)."""
    return split_pages(render_pdf(document))


# Rendering is CPU-bound Python (WeasyPrint layout and drawing take ~90 % of the time; HarfBuzz
# subsetting is a few ms per document, so the font choice hardly matters here), so a large
# batch is cut in one chunk per process and rendered in a pool of processes (see _start_method;
# the workers never touch the database). The HTML is rendered here, in
# the app context; the workers only call WeasyPrint. Small batches (a reissue, a few members)
# stay in this process: starting the pool costs about a second, once per process.
PARALLEL_MIN = 16
_pool: ProcessPoolExecutor | None = None


def _processes() -> int:
    configured = current_app.config.get("CERT_RENDER_PROCESSES")
    return int(configured) if configured else min(2, os.cpu_count() or 1)


def _start_method() -> str:
    """'fork' starts a worker in milliseconds, but is only safe with no other thread running
    (an RQ job's own process, the CLI); elsewhere (gunicorn threads, the in-process job thread)
    'spawn' starts clean workers, once per process, in about a second."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def _render_pool(processes: int) -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(
            max_workers=processes, mp_context=multiprocessing.get_context(_start_method())
        )
    return _pool


def shutdown_render_pool() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown()
        _pool = None


def render_members(items: list[CertificateData]) -> list[bytes]:
    """One PDF per certificate, in the order of `items` (needs the app context)."""
    processes = _processes()
    if len(items) < PARALLEL_MIN or processes < 2:
        return render_split(document_html(items))
    # Two chunks per process, each sent as soon as its HTML is ready: the pool starts on the
    # first while this process renders the next one's HTML (QR codes, template).
    size = -(-len(items) // (2 * processes))
    try:
        pool = _render_pool(processes)
        futures = [
            pool.submit(render_split, document_html(items[i : i + size]))
            for i in range(0, len(items), size)
        ]
        chunks = [future.result() for future in futures]
    except BrokenProcessPool:  # a worker died (killed, out of memory): render here instead
        shutdown_render_pool()
        chunks = [render_split(document_html(items))]
    return [pdf for chunk in chunks for pdf in chunk]


def sample_data() -> CertificateData:
    return CertificateData(
        name="王𠮷祥",
        achievement="2026年第11期集中培训",
        start_date=date(2026, 11, 26),
        end_date=date(2026, 11, 27),
        hours=Decimal("11.5"),
        serial=f"样例-{current_app.config['CERT_SERIAL_PREFIX']}2026-00001",  # never a real one
        signatory=current_app.config["CERT_SIGNATORY"],
        issue_date=date(2026, 11, 27),
        verify_url=f"{current_app.config['PUBLIC_URL']}/verify/sample",
    )


def save_template(html: str, css: str, user: User) -> None:
    render_document([sample_data()], html, css)  # refuse what does not render
    db.session.add(CertificateTemplate(html=html, css=css, updated_by_id=user.id))
    db.session.flush()
    record_audit("certificate.template_saved", "template", "certificate", {})


def restore_default_template(user: User) -> None:
    db.session.execute(sa.delete(CertificateTemplate))
    record_audit("certificate.template_default", "template", "certificate", {})
    db.session.flush()


# --- storage ---------------------------------------------------------------------------------


def certificate_path(sha256: str) -> Path:
    return Path(current_app.config["CERTIFICATES_DIR"]) / sha256[:2] / f"{sha256}.pdf"


def store_pdf(pdf: bytes) -> str:
    sha256 = hashlib.sha256(pdf).hexdigest()
    target = certificate_path(sha256)
    if not target.exists():
        with atomic_file(target) as out:
            out.write(pdf)
    return sha256


# --- issuing ---------------------------------------------------------------------------------


def verify_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/verify/{token}"


def live_holders(session: TrainingSession | None, cycle: RotationCycle | None) -> set[int]:
    stmt = sa.select(Certificate.member_id).where(Certificate.status == CertificateStatus.LIVE)
    stmt = stmt.where(
        Certificate.session_id == session.id if session else Certificate.cycle_id == cycle.id
    )
    return set(db.session.scalars(stmt))


def cohort_member_ids(cohort_id: int) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(CohortMember.member_id).where(
                CohortMember.cohort_id == cohort_id, CohortMember.removed_at.is_(None)
            )
        )
    )


def to_issue(
    session: TrainingSession | None = None,
    cycle: RotationCycle | None = None,
    only: set[int] | None = None,
):
    """The eligible members (of `only`, when given) who do not yet hold a live certificate for
    this session or cycle."""
    rows = session_eligibility(session) if session is not None else cycle_eligibility(cycle)
    holders = live_holders(session, cycle)
    return [
        row
        for row in rows
        if row.eligible and row.member.id not in holders and (only is None or row.member.id in only)
    ]


def issue_batch(
    rows: list[Eligibility],
    *,
    session: TrainingSession | None = None,
    cycle: RotationCycle | None = None,
    user_id: int | None = None,
    replaces: Certificate | None = None,
) -> list[Certificate]:
    """Render and store certificates for `rows` in one document; flushes, does not commit."""
    today = local_today()
    prefix = current_app.config["CERT_SERIAL_PREFIX"]
    signatory = current_app.config["CERT_SIGNATORY"]
    if session is not None:
        achievement = f"{session.title}集中培训"  # the certificate is a Chinese document
        start, end = session.start_date, session.end_date
    else:
        achievement = cycle.name
        start, end = cycle.start_date, cycle.end_date
    certificates, items = [], []
    for row in rows:
        serial = replaces.serial if replaces is not None else next_serial(prefix, today.year)
        token = secrets.token_urlsafe(24)
        certificates.append(
            Certificate(
                serial=serial,
                member_id=row.member.id,
                session_id=session.id if session else None,
                cycle_id=cycle.id if cycle else None,
                name=row.member.name,
                hours=row.hours,
                issued_on=today,
                signatory=signatory,
                verify_token=token,
                issued_by_id=user_id,
                replaces_id=replaces.id if replaces else None,
            )
        )
        items.append(
            CertificateData(
                name=row.member.name,
                achievement=achievement,
                start_date=start,
                end_date=end,
                hours=row.hours,
                serial=serial,
                signatory=signatory,
                issue_date=today,
                verify_url=verify_url(token),
            )
        )
    if not items:
        return []
    pages = render_members(items)
    for certificate, pdf in zip(certificates, pages, strict=True):
        certificate.pdf_sha256 = store_pdf(pdf)
        db.session.add(certificate)
    db.session.flush()
    for certificate in certificates:
        notify_members(
            [certificate.member_id],
            "certificate_issued",
            serial=certificate.serial,
            achievement=achievement,
        )
    if replaces is None:  # a reissue is recorded as such by reissue()
        training = {"session": session.id} if session else {"cycle": cycle.id}
        for certificate in certificates:
            details = {"serial": certificate.serial, **training}
            record_audit(
                "certificate.issued",
                "certificate",
                certificate.id,
                details,
                actor_id=user_id,
                flush=False,
            )
        db.session.flush()
    return certificates


def revoke(certificate: Certificate, reason: str) -> None:
    if certificate.status is not CertificateStatus.LIVE:
        return
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = utcnow()
    certificate.revoke_reason = reason
    db.session.flush()
    record_audit(
        "certificate.revoked",
        "certificate",
        certificate.id,
        {"serial": certificate.serial, "reason": reason},
    )


def reissue(certificate: Certificate, user: User) -> Certificate:
    """A new PDF with the member's current name and the same serial; the old one is kept as
    replaced, so the serial's history shows both."""
    if certificate.status is not CertificateStatus.LIVE:
        raise TemplateProblem(_("只有有效的证书可以换发。"))
    certificate.status = CertificateStatus.REPLACED
    db.session.flush()
    row = Eligibility(member=certificate.member, eligible=True, hours=certificate.hours)
    (new,) = issue_batch(
        [row],
        session=certificate.session,
        cycle=certificate.cycle,
        user_id=user.id,
        replaces=certificate,
    )
    record_audit(
        "certificate.reissued",
        "certificate",
        new.id,
        {"serial": new.serial, "old_name": certificate.name, "new_name": new.name},
    )
    return new


def mask_name(name: str) -> str:
    """张三 → 张*, 张小明 → 张*明, 欧阳小明 → 欧**明: enough to recognise, not to read."""
    chars = list(name)
    if len(chars) <= 1:
        return name
    if len(chars) == 2:
        return chars[0] + "*"
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]
