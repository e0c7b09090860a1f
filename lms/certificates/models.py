"""Completion certificates (结业证书): serials, stored PDFs, verification, revocation, reissue;
the admin-edited template; issuance jobs."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User
from lms.database import UTCDateTime, enum_column, intpk, timestamp
from lms.enums import LabelledEnum
from lms.extensions import Model
from lms.org.models import Member
from lms.rotation.models import RotationCycle
from lms.sessions.models import TrainingSession


class CertificateStatus(LabelledEnum):
    LIVE = "live", _l("有效")
    REVOKED = "revoked", _l("已撤销")
    REPLACED = (
        "replaced",
        _l("已换发"),
    )  # reissued (e.g. after a name correction); the serial's history


LIVE_SESSION = "status = 'live' AND session_id IS NOT NULL"
LIVE_CYCLE = "status = 'live' AND cycle_id IS NOT NULL"


class Certificate(Model):
    __tablename__ = "certificates"

    id: Mapped[intpk]
    serial: Mapped[str] = mapped_column(sa.String(40), index=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("training_sessions.id"), index=True
    )
    cycle_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rotation_cycles.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))  # as printed
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(6, 1))
    issued_on: Mapped[date]
    signatory: Mapped[str] = mapped_column(sa.String(64))
    verify_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    pdf_sha256: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[CertificateStatus] = mapped_column(
        enum_column(CertificateStatus, "certificate_status"), default=CertificateStatus.LIVE
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoke_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certificates.id"))
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[timestamp]

    member: Mapped[Member] = relationship()
    session: Mapped[TrainingSession | None] = relationship()
    cycle: Mapped[RotationCycle | None] = relationship()
    replaces: Mapped[Certificate | None] = relationship(remote_side="Certificate.id")

    __table_args__ = (
        sa.CheckConstraint("(session_id IS NULL) <> (cycle_id IS NULL)", name="session_or_cycle"),
        # One live certificate per member per session, and per cycle.
        sa.Index(
            "uq_certificates_live_session",
            "member_id",
            "session_id",
            unique=True,
            sqlite_where=sa.text(LIVE_SESSION),
            postgresql_where=sa.text(LIVE_SESSION),
        ),
        sa.Index(
            "uq_certificates_live_cycle",
            "member_id",
            "cycle_id",
            unique=True,
            sqlite_where=sa.text(LIVE_CYCLE),
            postgresql_where=sa.text(LIVE_CYCLE),
        ),
    )

    @property
    def what(self) -> str:
        if self.session is not None:
            return self.session.title
        assert self.cycle is not None  # CHECK session_or_cycle: one or the other
        return self.cycle.name


class SerialCounter(Model):
    """The last serial number used for a prefix and year; taken under a row lock."""

    __tablename__ = "serial_counters"

    prefix: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class CertificateTemplate(Model):
    """The admin's edited certificate template; without a row, the shipped default is used."""

    __tablename__ = "certificate_templates"

    id: Mapped[intpk]
    html: Mapped[str] = mapped_column(sa.Text)
    css: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[timestamp]
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    updated_by: Mapped[User | None] = relationship()


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class IssuanceJob(Model):
    """A bulk issuance, run in the background; the progress page polls it."""

    __tablename__ = "issuance_jobs"

    id: Mapped[intpk]
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("training_sessions.id"))
    cycle_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rotation_cycles.id"))
    # A cohort's issuance: the session's certificates for the cohort's members only.
    cohort_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cohorts.id"))
    status: Mapped[JobStatus] = mapped_column(
        enum_column(JobStatus, "job_status"), default=JobStatus.QUEUED
    )
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    issued: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[timestamp]
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    session: Mapped[TrainingSession | None] = relationship()
    cycle: Mapped[RotationCycle | None] = relationship()
