"""The demo evaluations: every trainee of a finished demo session listed under `evaluated`
rates its lessons and the session."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from lms.content_files import ContentError
from lms.evaluation.models import LessonRating, SessionEvaluation
from lms.extensions import db
from lms.org.models import Member
from lms.sessions.demo import DemoSession

DEMO_COMMENTS = (
    "案例贴近生产实际，很受启发。",
    "希望多安排互动讨论的时间。",
    "",
    "讲解清楚，材料可以早点发到手机上。",
    "",
)


def _demo_evaluations(path: Path, where: str, session, staff_nos: list) -> None:
    """Deterministic evaluations of a finished demo session: the n-th trainee of the list
    gives each lesson scores that depend only on n and the lesson's place in the timetable."""
    for n, staff_no in enumerate(staff_nos):
        member_id = db.session.scalar(sa.select(Member.id).where(Member.staff_no == str(staff_no)))
        if member_id is None:
            raise ContentError(f"{path}: {where}.evaluated: unknown 工号 {staff_no}")
        for m, lesson in enumerate(session.lessons):
            db.session.add(
                LessonRating(
                    lesson_id=lesson.id,
                    member_id=member_id,
                    content=5 - (n + m) % 2,
                    lecturer=5 - (n * m) % 3,
                    usefulness=4 - (n + 2 * m) % 3 + (m == 0),
                    comment=DEMO_COMMENTS[(n + m) % len(DEMO_COMMENTS)] if m < 2 else "",
                )
            )
        db.session.add(
            SessionEvaluation(
                session_id=session.id,
                member_id=member_id,
                overall=5 - n % 2,
                comment=DEMO_COMMENTS[n % len(DEMO_COMMENTS)],
            )
        )


def evaluate_finished_sessions(path: Path, created: list[DemoSession]) -> None:
    for demo in created:
        if demo.entry.get("attended") == "all":
            _demo_evaluations(path, demo.where, demo.session, demo.entry.get("evaluated") or [])
            db.session.flush()
