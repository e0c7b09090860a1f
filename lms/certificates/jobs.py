"""The bulk issuance job: batches of certificates, progress saved after each batch."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask

from lms.certificates import issuing, rendering
from lms.certificates.models import IssuanceJob, JobStatus
from lms.database import utcnow
from lms.extensions import db
from lms.rotation.models import RotationCycle
from lms.sessions.models import TrainingSession

log = logging.getLogger(__name__)


def run_issuance(job_id: int, app: Flask | None = None, in_context: bool = False) -> None:
    """Issue every missing certificate of the job's session or cycle. Safe to run twice.

    An RQ worker passes no app (one is built from the environment), a thread passes the app,
    and inline runs (tests, `LMS_JOBS_INLINE`) use the caller's app context."""
    if in_context:
        _run(job_id)
        return
    own_process = app is None  # an RQ work horse, which ends with the job
    if app is None:
        from lms import create_app

        app = create_app()
    with app.app_context():
        try:
            _run(job_id)
        finally:
            db.session.remove()
            if own_process:  # or its render processes would outlive it, orphaned
                rendering.shutdown_render_pool()


def _run(job_id: int) -> None:
    job = db.session.get(IssuanceJob, job_id)
    if job is None or job.status in (JobStatus.DONE, JobStatus.RUNNING):
        return
    try:
        job.status = JobStatus.RUNNING
        only = issuing.cohort_member_ids(job.cohort_id) if job.cohort_id else None
        rows = issuing.to_issue(job.session, job.cycle, only)
        job.total = len(rows)
        db.session.commit()
        for start in range(0, len(rows), issuing.BATCH):
            issued = _issue_locked(job, rows[start : start + issuing.BATCH])
            job.done = min(job.total, start + issuing.BATCH)
            job.issued += issued
            db.session.commit()
        job.status = JobStatus.DONE
        job.finished_at = utcnow()
        db.session.commit()
    except Exception as exc:
        log.exception("issuance job %s failed", job_id)
        db.session.rollback()
        job = db.session.get(IssuanceJob, job_id)
        assert job is not None  # it was there when the run began; jobs are never deleted
        job.status = JobStatus.FAILED
        job.error = str(exc)[:500]
        job.finished_at = utcnow()
        db.session.commit()


def _issue_locked(job: IssuanceJob, rows) -> int:
    """Issue one batch while holding the session's (or cycle's) row: two jobs for the same
    target take turns, and each re-checks who already holds a certificate."""
    target = TrainingSession if job.session_id else RotationCycle
    ident = job.session_id or job.cycle_id
    db.session.execute(sa.select(target.id).where(target.id == ident).with_for_update())
    holders = issuing.live_holders(job.session, job.cycle)
    rows = [row for row in rows if row.member.id not in holders]
    certificates = issuing.issue_batch(
        rows, session=job.session, cycle=job.cycle, user_id=job.created_by_id
    )
    return len(certificates)
