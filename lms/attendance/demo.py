"""The demo attendance: in a finished demo session (`attended: all`) every enrolled member
attended every lesson and completed the session."""

from __future__ import annotations

import sqlalchemy as sa

from lms.attendance.models import Attendance, AttendanceMethod, AttendanceStatus
from lms.attendance.services import refresh_totals
from lms.extensions import db
from lms.sessions.demo import DemoSession
from lms.sessions.models import Enrollment, EnrollmentStatus


def attend_finished_sessions(created: list[DemoSession]) -> None:
    for demo in created:
        if demo.entry.get("attended") != "all":
            continue
        session = demo.session
        for enrollment in demo.enrollments:
            enrollment.status = EnrollmentStatus.COMPLETED
            db.session.add_all(
                Attendance(
                    member_id=enrollment.member_id,
                    lesson_id=lesson.id,
                    status=AttendanceStatus.PRESENT,
                    method=AttendanceMethod.MANUAL,
                )
                for lesson in session.lessons
            )
        db.session.flush()
        refresh_totals(
            set(
                db.session.scalars(
                    sa.select(Enrollment.member_id).where(Enrollment.session_id == session.id)
                )
            ),
            {session.id},
        )
