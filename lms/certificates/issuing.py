"""Issuing certificates: serial numbers that never repeat, who still needs one, a batch rendered
and stored with its audit and notifications, revocation, reissue and the public verify page's
masked name."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite

from lms.audit.services import record_audit
from lms.auth.models import User
from lms.certificates.eligibility import Eligibility, cycle_eligibility, session_eligibility
from lms.certificates.models import Certificate, CertificateStatus, SerialCounter
from lms.certificates.rendering import CertificateData, TemplateProblem, render_members
from lms.certificates.storage import store_pdf
from lms.clock import local_today
from lms.database import utcnow
from lms.extensions import db
from lms.notifications.services import notify_members
from lms.rotation.models import CohortMember, RotationCycle
from lms.sessions.models import TrainingSession

BATCH = 50


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


# --- issuing ---------------------------------------------------------------------------------


def verify_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/verify/{token}"


def live_holders(session: TrainingSession | None, cycle: RotationCycle | None) -> set[int]:
    stmt = sa.select(Certificate.member_id).where(Certificate.status == CertificateStatus.LIVE)
    if session is not None:
        stmt = stmt.where(Certificate.session_id == session.id)
    else:
        assert cycle is not None  # callers name a session or a cycle
        stmt = stmt.where(Certificate.cycle_id == cycle.id)
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
    if session is not None:
        rows = session_eligibility(session)
    else:
        assert cycle is not None  # callers name a session or a cycle
        rows = cycle_eligibility(cycle)
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
    training: dict[str, int]
    if session is not None:
        achievement = f"{session.title}集中培训"  # the certificate is a Chinese document
        start, end = session.start_date, session.end_date
        training = {"session": session.id}
    else:
        assert cycle is not None  # callers name a session or a cycle
        achievement = cycle.name
        start, end = cycle.start_date, cycle.end_date
        training = {"cycle": cycle.id}
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
