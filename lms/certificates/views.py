"""Certificate pages: eligibility and issuance with a progress page, downloads (own, ZIP, combined
PDF), revocation and reissue, the admin's template editor, and public verification."""

from __future__ import annotations

import io
import re
import zipfile

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from pypdf import PdfWriter

from lms.access import authorize, is_organizer, load, roles_required
from lms.auth.models import Role
from lms.auth.services import safe_referrer
from lms.certificates import access, eligibility, issuing, jobs, rendering, storage
from lms.certificates.models import (
    Certificate,
    CertificateStatus,
    IssuanceJob,
    JobStatus,
)
from lms.extensions import db
from lms.files import attachment_headers, content_disposition, inline_headers
from lms.forms import ConfirmForm
from lms.jobs import enqueue
from lms.rotation.models import Cohort, RotationCycle
from lms.sessions.models import TrainingSession
from lms.transaction import atomic

bp = Blueprint("certificates", __name__)
VERIFY_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # secrets.token_urlsafe, with room to spare


def _issued(session: TrainingSession | None = None, cycle: RotationCycle | None = None):
    stmt = sa.select(Certificate).order_by(Certificate.serial, Certificate.id)
    if session is not None:
        stmt = stmt.where(Certificate.session_id == session.id)
    else:
        assert cycle is not None  # callers name a session or a cycle
        stmt = stmt.where(Certificate.cycle_id == cycle.id)
    return list(db.session.scalars(stmt))


def _overview(session=None, cycle=None, cohort=None):
    rows = (
        eligibility.session_eligibility(session)
        if session
        else eligibility.cycle_eligibility(cycle)
    )
    issued = _issued(session, cycle)
    if cohort is not None:
        members = issuing.cohort_member_ids(cohort.id)
        rows = [row for row in rows if row.member.id in members]
        issued = [c for c in issued if c.member_id in members]
    return render_template(
        "certificates/overview.html",
        session=session,
        cycle=cycle,
        cohort=cohort,
        rows=rows,
        issued=issued,
        holders=issuing.live_holders(session, cycle),
        confirm=ConfirmForm(),
    )


@bp.route("/certificates/sessions/<int:session_id>")
@roles_required(Role.ORGANIZER)
def session_overview(session_id: int):
    return _overview(session=load(TrainingSession, session_id, is_organizer))


@bp.route("/certificates/cycles/<int:cycle_id>")
@roles_required(Role.ORGANIZER)
def cycle_overview(cycle_id: int):
    return _overview(cycle=load(RotationCycle, cycle_id, is_organizer))


def _start_job(session=None, cycle=None, cohort=None):
    job = IssuanceJob(
        session_id=session.id if session else None,
        cycle_id=cycle.id if cycle else None,
        cohort_id=cohort.id if cohort else None,
        created_by_id=current_user.id,
    )
    db.session.add(job)
    db.session.flush()
    enqueue(jobs.run_issuance, job.id, on_fallback=_warn_redis_down)
    return redirect(url_for("certificates.job", job_id=job.id))


def _warn_redis_down() -> None:
    flash(
        _(
            "后台队列（Redis）暂时连接不上，证书改由网站进程直接生成，进度照常显示；"
            "生成完成前请不要重启服务。"
        ),
        "warning",
    )


@bp.route("/certificates/sessions/<int:session_id>/issue", methods=["POST"])
@roles_required(Role.ORGANIZER)
def issue_session(session_id: int):
    return _start_job(session=load(TrainingSession, session_id, is_organizer))


@bp.route("/certificates/cycles/<int:cycle_id>/issue", methods=["POST"])
@roles_required(Role.ORGANIZER)
def issue_cycle(cycle_id: int):
    return _start_job(cycle=load(RotationCycle, cycle_id, is_organizer))


@bp.route("/certificates/cohorts/<int:cohort_id>")
@roles_required(Role.ORGANIZER)
def cohort_overview(cohort_id: int):
    cohort = load(Cohort, cohort_id, is_organizer)
    return _overview(session=cohort.session, cohort=cohort)


@bp.route("/certificates/cohorts/<int:cohort_id>/issue", methods=["POST"])
@roles_required(Role.ORGANIZER)
def issue_cohort(cohort_id: int):
    cohort = load(Cohort, cohort_id, is_organizer)
    return _start_job(session=cohort.session, cohort=cohort)


@bp.route("/certificates/jobs/<int:job_id>")
@roles_required(Role.ORGANIZER)
def job(job_id: int):
    job = load(IssuanceJob, job_id, is_organizer)
    return render_template(
        "certificates/job.html",
        job=job,
        running=job.status in (JobStatus.QUEUED, JobStatus.RUNNING),
    )


@bp.route("/certificates/<int:certificate_id>.pdf")
@login_required
def download(certificate_id: int):
    certificate = load(Certificate, certificate_id, access.can_download)
    path = storage.certificate_path(certificate.pdf_sha256)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype="application/pdf",
        download_name=f"{certificate.serial}.pdf",
        conditional=True,
        etag=certificate.pdf_sha256,
        max_age=0,
    )
    response.cache_control.private = True
    response.headers["Content-Disposition"] = content_disposition(
        f"{certificate.serial}.pdf", "certificate", inline=True
    )
    return response


@bp.route("/certificates/mine")
@login_required
def mine():
    authorize(current_user.member_id is not None)
    rows = db.session.scalars(
        sa.select(Certificate)
        .where(Certificate.member_id == current_user.member_id)
        .order_by(Certificate.issued_on.desc(), Certificate.id.desc())
    ).all()
    return render_template("certificates/mine.html", rows=rows)


class _Pipe(io.RawIOBase):
    """A write-only stream whose written bytes are handed out as they come (for a streamed ZIP)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def _live(session_id: int) -> list[Certificate]:
    return [
        c
        for c in _issued(session=db.session.get(TrainingSession, session_id))
        if c.status is CertificateStatus.LIVE
    ]


@bp.route("/certificates/sessions/<int:session_id>/certificates.zip")
@roles_required(Role.ORGANIZER)
def session_zip(session_id: int):
    training = load(TrainingSession, session_id, is_organizer)
    return _zip(training, _live(training.id), f"session-{training.id}-certificates")


@bp.route("/certificates/cohorts/<int:cohort_id>/certificates.zip")
@roles_required(Role.ORGANIZER)
def cohort_zip(cohort_id: int):
    cohort = load(Cohort, cohort_id, is_organizer)
    members = issuing.cohort_member_ids(cohort.id)
    live = [c for c in _live(cohort.session_id) if c.member_id in members]
    return _zip(cohort.session, live, f"cohort-{cohort.id}-certificates")


def _zip(training: TrainingSession, certificates: list[Certificate], stem: str) -> Response:
    """A ZIP written as it is sent: the stored PDFs are never all in memory at once."""
    files = [
        (f"{c.serial}-{c.name}.pdf", path)
        for c in certificates
        if (path := storage.certificate_path(c.pdf_sha256)).is_file()
    ]

    def generate():
        pipe = _Pipe()
        with zipfile.ZipFile(pipe, "w", zipfile.ZIP_STORED) as archive:
            for name, path in files:
                with archive.open(name, "w") as entry, path.open("rb") as source:
                    while chunk := source.read(64 * 1024):
                        entry.write(chunk)
                        yield pipe.take()
        yield pipe.take()

    return Response(
        stream_with_context(generate()),
        mimetype="application/zip",
        headers=attachment_headers(f"{training.title}-结业证书.zip", stem),
    )


@bp.route("/certificates/sessions/<int:session_id>/combined.pdf")
@roles_required(Role.ORGANIZER)
def session_combined(session_id: int):
    training = load(TrainingSession, session_id, is_organizer)
    writer = PdfWriter()
    for certificate in _live(training.id):
        path = storage.certificate_path(certificate.pdf_sha256)
        if path.is_file():
            writer.append(str(path))
    buffer = io.BytesIO()
    writer.write(buffer)
    return Response(
        buffer.getvalue(),
        mimetype="application/pdf",
        headers=inline_headers(
            f"{training.title}-结业证书（打印）.pdf", f"session-{training.id}-certificates-print"
        ),
    )


@bp.route("/certificates/<int:certificate_id>/revoke", methods=["POST"])
@roles_required(Role.ORGANIZER)
def revoke(certificate_id: int):
    certificate = load(Certificate, certificate_id, is_organizer)
    reason = (request.form.get("reason") or "").strip()[:500]
    if not reason:
        flash(_("撤销证书须填写原因。"), "warning")
    else:
        issuing.revoke(certificate, reason)
        flash(_("证书 %(serial)s 已撤销。", serial=certificate.serial), "success")
    return redirect(safe_referrer() or url_for("certificates.mine"))


@bp.route("/certificates/<int:certificate_id>/reissue", methods=["POST"])
@roles_required(Role.ORGANIZER)
def reissue(certificate_id: int):
    certificate = load(Certificate, certificate_id, is_organizer)
    try:
        with atomic():
            new = issuing.reissue(certificate, current_user)
    except rendering.TemplateProblem as problem:
        flash(problem.message, "warning")
    else:
        flash(_("已按现在的姓名换发证书 %(serial)s。", serial=new.serial), "success")
    return redirect(safe_referrer() or url_for("certificates.mine"))


@bp.route("/verify/<token>")
def verify(token: str):
    """Public: no sign-in. An unknown, malformed or over-long code says so plainly (404), and
    what to do, without telling which codes exist."""
    certificate = (
        db.session.scalar(sa.select(Certificate).where(Certificate.verify_token == token))
        if VERIFY_TOKEN.fullmatch(token)
        else None
    )
    if certificate is None:
        return render_template("certificates/verify_missing.html"), 404
    return render_template(
        "certificates/verify.html",
        certificate=certificate,
        masked=issuing.mask_name(certificate.name),
    )


@bp.route("/certificates/template", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def template():
    html, css = rendering.current_template()
    problem = None
    if request.method == "POST":
        action = request.form.get("action")
        if action == "default":
            rendering.restore_default_template(current_user)
            flash(_("已恢复默认模板。"), "success")
            return redirect(url_for("certificates.template"))
        html = request.form.get("html", "")
        css = request.form.get("css", "")
        try:
            if action == "preview":
                pdf = rendering.render_document([rendering.sample_data()], html, css)
                return Response(
                    pdf, mimetype="application/pdf", headers=inline_headers("预览.pdf", "preview")
                )
            with atomic():
                rendering.save_template(html, css, current_user)
        except rendering.TemplateProblem as exc:
            problem = exc.message
        else:
            flash(_("模板已保存。"), "success")
            return redirect(url_for("certificates.template"))
    return render_template(
        "certificates/template.html", html=html, css=css, problem=problem, confirm=ConfirmForm()
    )
