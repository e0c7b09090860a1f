"""Certificate documents: the sandboxed template (shipped default or the admin's edit, its errors
in the user's language) and fast bulk rendering: one document per batch, split into one PDF per
member, in a pool of processes for large batches."""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import segno
import sqlalchemy as sa
from babel.dates import format_date
from flask import current_app, render_template
from flask_babel import gettext as _
from jinja2 import TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError

from lms.audit.services import record_audit
from lms.auth.models import User
from lms.certificates import sandbox
from lms.certificates.models import CertificateTemplate
from lms.extensions import db
from lms.paths import shipped
from lms.pdf import render_pdf, split_pages

DEFAULT_DIR = "default"
URL_PATTERNS = (
    re.compile(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE),
    re.compile(r"""url\(\s*['"]?([^'")\s]+)""", re.IGNORECASE),
    re.compile(r"""@import\s+['"]([^'"]+)""", re.IGNORECASE),
)


class TemplateProblem(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


def render_split(document: str) -> list[bytes]:
    """A rendered document HTML → one PDF per page. Needs no app context (runs in the pool)."""
    return split_pages(render_pdf(document))


# Rendering is CPU-bound Python (measured: WeasyPrint's layout and drawing take most of the time,
# font subsetting little; see bench/README.md, certificates), so a large batch is cut in one
# chunk per process and rendered in a pool of processes (see _start_method; the workers never
# touch the database). The HTML is rendered here, in the app context; the workers only call
# WeasyPrint. Small batches (a reissue, a few members) stay in this process: starting the pool
# has a measured cost of its own, once per process.
PARALLEL_MIN = 16
_pool: ProcessPoolExecutor | None = None


def _processes() -> int:
    configured = current_app.config.get("CERT_RENDER_PROCESSES")
    return int(configured) if configured else min(2, os.cpu_count() or 1)


def _start_method() -> str:
    """'fork' starts workers quickly, but is only safe with no other thread running (an RQ
    job's own process, the CLI); elsewhere (gunicorn threads, the in-process job thread) 'spawn'
    starts clean workers, once per process, several times slower (bench/README.md)."""
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
