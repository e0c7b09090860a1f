"""Role × URL access table. Every route of the app must be listed here, or the suite fails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from lms.auth.models import Role
from lms.catalog.models import CourseStatus
from lms.extensions import db
from lms.quizzes.attempts import finish_attempt, start_attempt
from lms.quizzes.models import AttemptStatus
from lms.sessions.models import Enrollment
from tests.conftest import login
from tests.factories import (
    make_attendance,
    make_bank,
    make_branch,
    make_course,
    make_cycle,
    make_enrollment,
    make_lesson,
    make_material,
    make_member,
    make_question,
    make_quiz,
    make_secretary,
    make_session,
    make_user,
)
from tests.figures import count

pytestmark = pytest.mark.security

ROLES = ("anonymous", "trainee", "lecturer", "secretary", "organizer", "admin")
# Routes served by extensions, open to everyone by design.
EXEMPT = {"static", "bootstrap.static"}


@dataclass
class World:
    users: dict
    own_member: object  # the trainee's own member record
    branch_member: object  # a member of the secretary's branch
    other_member: object  # a member of no one's scope but organizers'
    some_user: object
    published: object
    draft: object
    taught: object  # a course the lecturer teaches by default
    session: object  # the trainee is enrolled
    lesson: object  # taught by the lecturer, has `material`
    spare_lesson: object  # taught by the lecturer, no materials
    other_lesson: object  # another session's, taught by another lecturer; has `other_material`
    material: object
    other_material: object
    bank: object  # the lecturer authors here
    other_bank: object
    question: object  # in `bank`
    other_question: object  # in `other_bank`
    quiz: object  # the session's quiz: the trainee (enrolled) may take it
    other_quiz: object  # another session's quiz: nobody here is enrolled
    attempt: object  # the trainee's, in progress
    finished: object  # the trainee's, finished
    other_attempt: object  # another member's
    enrollment: object  # the trainee's own, in `session`
    certificate: object  # the trainee's own
    other_certificate: object  # another member's
    cycle: object
    secretary_branch: object
    other_branch: object
    other_enrollment: object  # another member's


@pytest.fixture
def world() -> World:
    secretary_branch = make_branch()
    other_branch = make_branch()
    secretary = make_secretary(secretary_branch)
    own = make_member(branch=other_branch, name="王𠮷祥")
    users = {
        "trainee": make_user(roles={Role.TRAINEE}, member=own),
        "lecturer": make_user(roles={Role.LECTURER}),
        "secretary": secretary,
        "organizer": make_user(roles={Role.ORGANIZER}),
        "admin": make_user(roles={Role.ADMIN}),
    }
    lecturer = users["lecturer"]
    another_lecturer = make_user(roles={Role.LECTURER})
    session = make_session()
    make_enrollment(session, own)
    lesson = make_lesson(session=session, lecturer=lecturer, start=time(8), end=time(9))
    other_lesson = make_lesson(lecturer=another_lecturer, start=time(10), end=time(11))
    bank = make_bank(authors=[lecturer])
    other_bank = make_bank()
    question = make_question(bank)
    quiz = make_quiz([question], session=session, max_attempts=3)
    other_quiz = make_quiz([make_question(other_bank)], session=make_session())
    finished = start_attempt(quiz, own)
    finish_attempt(finished, AttemptStatus.SUBMITTED)
    own_enrollment = db.session.scalar(sa.select(Enrollment).where(Enrollment.member_id == own.id))
    from lms.certificates.models import Certificate

    def certificate_of(member):
        item = Certificate(
            serial=f"T-{member.id}",
            member_id=member.id,
            session_id=session.id,
            name=member.name,
            hours=Decimal(1),
            issued_on=date(2026, 11, 27),
            signatory="校长",
            verify_token=f"token-{member.id}",
            pdf_sha256="0" * 64,
        )
        db.session.add(item)
        db.session.flush()
        return item

    return World(
        certificate=certificate_of(own),
        other_certificate=certificate_of(make_member()),
        cycle=make_cycle(),
        secretary_branch=secretary_branch,
        other_branch=other_branch,
        enrollment=own_enrollment,
        other_enrollment=make_enrollment(session, make_member()),
        bank=bank,
        other_bank=other_bank,
        question=question,
        other_question=other_quiz.items[0].question,
        quiz=quiz,
        other_quiz=other_quiz,
        finished=finished,
        attempt=start_attempt(quiz, own),
        other_attempt=start_attempt(quiz, make_member()),
        taught=make_course(lecturers=[lecturer]),
        session=session,
        lesson=lesson,
        spare_lesson=make_lesson(session=session, lecturer=lecturer, start=time(14), end=time(15)),
        other_lesson=other_lesson,
        material=make_material(uploader=lecturer, lesson=lesson),
        other_material=make_material(uploader=another_lecturer, lesson=other_lesson),
        users=users,
        own_member=own,
        branch_member=make_member(branch=secretary_branch),
        other_member=make_member(branch=other_branch),
        some_user=make_user(),
        published=make_course(),
        draft=make_course(status=CourseStatus.DRAFT),
    )


def _recording(material):
    """A recording of `material` (its access follows the material's)."""
    from lms.online.services import create_recording

    return create_recording(material.created_by, material, "", 1800, None, None)


def _row(*codes: int) -> dict[str, int]:
    return dict(zip(ROLES, codes, strict=True))


ANY_SIGNED_IN = _row(302, 200, 200, 200, 200, 200)
ORGANIZER_ONLY = _row(302, 403, 403, 403, 200, 403)
ORGANIZER_OR_SECRETARY = _row(302, 403, 403, 200, 200, 403)
ADMIN_ONLY = _row(302, 403, 403, 403, 403, 200)
NOT_FOUND = _row(302, 404, 404, 404, 404, 404)
ORGANIZER_POST = _row(302, 403, 403, 403, 302, 403)
# The lecturer teaches it (or is the course's default lecturer); organizers manage everything.
LECTURER_OF_IT = _row(302, 403, 200, 403, 200, 403)
# Enrolled-only material of the lecturer's lesson: the enrolled trainee, its lecturer, organizers.
ENROLLED_MATERIAL = _row(302, 200, 200, 403, 200, 403)


def _attended_session(w: World) -> str:
    """The world's session, once the trainee has attended its lesson: they may evaluate it (its
    last day is past)."""
    from lms.attendance.models import Attendance

    if not db.session.scalar(
        sa.select(Attendance.id).where(
            Attendance.member_id == w.own_member.id, Attendance.lesson_id == w.lesson.id
        )
    ):
        make_attendance(w.own_member, w.lesson)
    return f"/evaluation/sessions/{w.session.id}"


@dataclass
class Case:
    endpoint: str
    method: str
    url: Callable[[World], str]
    expected: dict[str, int]


CASES = [
    Case("ops.healthz", "GET", lambda w: "/healthz", _row(200, 200, 200, 200, 200, 200)),
    Case("main.index", "GET", lambda w: "/", ANY_SIGNED_IN),
    Case("main.my_lessons", "GET", lambda w: "/me/lessons", _row(302, 403, 200, 403, 403, 403)),
    Case(
        "main.my_lessons",
        "GET",
        lambda w: "/me/lessons?when=past&page=999",
        _row(302, 403, 200, 403, 403, 403),
    ),
    Case("auth.login", "GET", lambda w: "/login", _row(200, 302, 302, 302, 302, 302)),
    Case("auth.logout", "POST", lambda w: "/logout", _row(302, 302, 302, 302, 302, 302)),
    Case("auth.change_password", "GET", lambda w: "/account/password", ANY_SIGNED_IN),
    Case(
        "auth.forgot_password",
        "GET",
        lambda w: "/forgot-password",
        _row(200, 200, 200, 200, 200, 200),
    ),
    Case("auth.set_language", "POST", lambda w: "/language", _row(302, 302, 302, 302, 302, 302)),
    Case("org.index", "GET", lambda w: "/members/", ORGANIZER_OR_SECRETARY),
    Case("org.lookup", "GET", lambda w: "/members/lookup?q=1&fragment=1", ORGANIZER_OR_SECRETARY),
    Case(
        "org.detail",
        "GET",
        lambda w: f"/members/{w.own_member.id}",
        _row(302, 200, 403, 403, 200, 403),
    ),
    Case("org.detail", "GET", lambda w: f"/members/{w.branch_member.id}", ORGANIZER_OR_SECRETARY),
    Case("org.detail", "GET", lambda w: f"/members/{w.other_member.id}", ORGANIZER_ONLY),
    Case("org.detail", "GET", lambda w: "/members/999999", _row(302, 404, 404, 404, 404, 404)),
    Case("org.edit", "GET", lambda w: f"/members/{w.own_member.id}/edit", ORGANIZER_ONLY),
    Case("org.edit", "GET", lambda w: f"/members/{w.branch_member.id}/edit", ORGANIZER_ONLY),
    Case("org.create", "GET", lambda w: "/members/new", ORGANIZER_ONLY),
    Case(
        "org.set_active",
        "POST",
        lambda w: f"/members/{w.branch_member.id}/active?to=off",
        _row(302, 403, 403, 403, 302, 403),
    ),
    Case("org.import_roster", "GET", lambda w: "/members/import", ORGANIZER_ONLY),
    Case("org.import_template", "GET", lambda w: "/members/import/template.xlsx", ORGANIZER_ONLY),
    Case("org.export", "GET", lambda w: "/members/export.xlsx", ORGANIZER_OR_SECRETARY),
    Case("org.branches", "GET", lambda w: "/members/branches", ORGANIZER_OR_SECRETARY),
    Case(
        "records.member_record",
        "GET",
        lambda w: f"/records/members/{w.own_member.id}",
        _row(302, 200, 403, 403, 200, 403),
    ),
    Case(
        "records.member_record",
        "GET",
        lambda w: f"/records/members/{w.branch_member.id}",
        ORGANIZER_OR_SECRETARY,
    ),
    Case(
        "records.member_record",
        "GET",
        lambda w: f"/records/members/{w.other_member.id}",
        ORGANIZER_ONLY,
    ),
    Case("records.member_record", "GET", lambda w: "/records/members/999999", NOT_FOUND),
    Case(
        "records.member_record_pdf",
        "GET",
        lambda w: f"/records/members/{w.own_member.id}/record.pdf",
        _row(302, 200, 403, 403, 200, 403),
    ),
    Case(
        "records.member_record_pdf",
        "GET",
        lambda w: f"/records/members/{w.branch_member.id}/record.pdf",
        ORGANIZER_OR_SECRETARY,
    ),
    Case(
        "records.branch_records",
        "GET",
        lambda w: f"/records/branches/{w.secretary_branch.id}/records.xlsx",
        ORGANIZER_OR_SECRETARY,
    ),
    Case(
        "records.branch_records",
        "GET",
        lambda w: f"/records/branches/{w.other_branch.id}/records.xlsx",
        ORGANIZER_ONLY,
    ),
    Case(
        "records.branch_records",
        "GET",
        lambda w: "/records/branches/999999/records.xlsx",
        NOT_FOUND,
    ),
    Case("catalog.index", "GET", lambda w: "/courses/", ANY_SIGNED_IN),
    Case("catalog.detail", "GET", lambda w: f"/courses/{w.published.id}", ANY_SIGNED_IN),
    Case(
        "catalog.detail",
        "GET",
        lambda w: f"/courses/{w.draft.id}",
        _row(302, 404, 404, 404, 200, 404),
    ),
    Case("catalog.detail", "GET", lambda w: "/courses/999999", _row(302, 404, 404, 404, 404, 404)),
    Case("catalog.create", "GET", lambda w: "/courses/new", ORGANIZER_ONLY),
    Case("catalog.edit", "GET", lambda w: f"/courses/{w.published.id}/edit", ORGANIZER_ONLY),
    Case(
        "catalog.set_status",
        "POST",
        lambda w: f"/courses/{w.published.id}/status?to=archived",
        _row(302, 403, 403, 403, 302, 403),
    ),
    Case("catalog.themes", "GET", lambda w: "/courses/themes", ORGANIZER_ONLY),
    Case("sessions.index", "GET", lambda w: "/sessions/", ANY_SIGNED_IN),
    Case("sessions.month", "GET", lambda w: "/sessions/calendar?month=2026-11", ANY_SIGNED_IN),
    Case("sessions.create", "GET", lambda w: "/sessions/new", ORGANIZER_ONLY),
    Case("sessions.this_month", "GET", lambda w: "/sessions/this-month", ORGANIZER_ONLY),
    Case(
        "sessions.this_month",
        "GET",
        lambda w: "/sessions/this-month?month=2026-13",
        _row(302, 403, 403, 403, 400, 403),
    ),
    Case("sessions.detail", "GET", lambda w: f"/sessions/{w.session.id}", ANY_SIGNED_IN),
    Case("sessions.detail", "GET", lambda w: "/sessions/999999", NOT_FOUND),
    Case("sessions.edit", "GET", lambda w: f"/sessions/{w.session.id}/edit", ORGANIZER_ONLY),
    Case(
        "sessions.set_status",
        "POST",
        lambda w: f"/sessions/{w.session.id}/status?to=in_progress",
        ORGANIZER_POST,
    ),
    Case(
        "sessions.plan_next", "GET", lambda w: f"/sessions/{w.session.id}/plan-next", ORGANIZER_ONLY
    ),
    Case(
        "sessions.timetable_ics",
        "GET",
        lambda w: f"/sessions/{w.session.id}/timetable.ics",
        ANY_SIGNED_IN,
    ),
    Case(
        "sessions.add_lesson",
        "GET",
        lambda w: f"/sessions/{w.session.id}/lessons/new",
        ORGANIZER_ONLY,
    ),
    Case("sessions.lesson", "GET", lambda w: f"/sessions/lessons/{w.lesson.id}", ANY_SIGNED_IN),
    Case("sessions.lesson", "GET", lambda w: "/sessions/lessons/999999", NOT_FOUND),
    Case(
        "sessions.edit_lesson",
        "GET",
        lambda w: f"/sessions/lessons/{w.lesson.id}/edit",
        ORGANIZER_ONLY,
    ),
    Case(
        "sessions.delete_lesson",
        "POST",
        lambda w: f"/sessions/lessons/{w.spare_lesson.id}/delete",
        ORGANIZER_POST,
    ),
    Case(
        "materials.upload_to_course",
        "GET",
        lambda w: f"/materials/upload/course/{w.taught.id}",
        LECTURER_OF_IT,
    ),
    Case(
        "materials.upload_to_course",
        "GET",
        lambda w: f"/materials/upload/course/{w.published.id}",
        ORGANIZER_ONLY,
    ),
    Case(
        "materials.upload_to_lesson",
        "GET",
        lambda w: f"/materials/upload/lesson/{w.lesson.id}",
        LECTURER_OF_IT,
    ),
    Case(
        "materials.upload_to_lesson",
        "GET",
        lambda w: f"/materials/upload/lesson/{w.other_lesson.id}",
        ORGANIZER_ONLY,
    ),
    Case("materials.detail", "GET", lambda w: f"/materials/{w.material.id}", ENROLLED_MATERIAL),
    Case("materials.detail", "GET", lambda w: f"/materials/{w.other_material.id}", ORGANIZER_ONLY),
    Case("materials.detail", "GET", lambda w: "/materials/999999", NOT_FOUND),
    Case(
        "materials.new_version",
        "GET",
        lambda w: f"/materials/{w.material.id}/versions/new",
        LECTURER_OF_IT,
    ),
    Case(
        "materials.new_version",
        "GET",
        lambda w: f"/materials/{w.other_material.id}/versions/new",
        ORGANIZER_ONLY,
    ),
    Case(
        "materials.delete",
        "POST",
        lambda w: f"/materials/{w.material.id}/delete",
        _row(302, 403, 302, 403, 302, 403),
    ),
    Case(
        "materials.delete",
        "POST",
        lambda w: f"/materials/{w.other_material.id}/delete",
        ORGANIZER_POST,
    ),
    Case(
        "materials.download", "GET", lambda w: f"/materials/{w.material.id}/file", ENROLLED_MATERIAL
    ),
    Case(
        "materials.download",
        "GET",
        lambda w: f"/materials/{w.other_material.id}/file",
        ORGANIZER_ONLY,
    ),
    Case(
        "materials.download_version",
        "GET",
        lambda w: f"/materials/versions/{w.material.current.id}/file",
        ENROLLED_MATERIAL,
    ),
    Case(
        "materials.download_version",
        "GET",
        lambda w: f"/materials/versions/{w.other_material.current.id}/file",
        ORGANIZER_ONLY,
    ),
    Case(
        "materials.download_version", "GET", lambda w: "/materials/versions/999999/file", NOT_FOUND
    ),
    Case("online.index", "GET", lambda w: "/online/", ANY_SIGNED_IN),
    Case(
        "online.watch",
        "GET",
        lambda w: f"/online/recordings/{_recording(w.material).id}",
        ENROLLED_MATERIAL,
    ),
    Case(
        "online.watch",
        "GET",
        lambda w: f"/online/recordings/{_recording(w.other_material).id}",
        ORGANIZER_ONLY,
    ),
    Case("online.watch", "GET", lambda w: "/online/recordings/999999", NOT_FOUND),
    # With no JSON body: the enrolled trainee is told so (400); those without a member record
    # (the lecturer, organizer and admin here) have no progress to keep (403).
    Case(
        "online.heartbeat",
        "POST",
        lambda w: f"/online/recordings/{_recording(w.material).id}/heartbeat",
        _row(302, 400, 403, 403, 403, 403),
    ),
    Case(
        "online.heartbeat",
        "POST",
        lambda w: f"/online/recordings/{_recording(w.other_material).id}/heartbeat",
        _row(302, 403, 403, 403, 403, 403),
    ),
    Case("online.manage", "GET", lambda w: "/online/manage", ORGANIZER_ONLY),
    Case("online.export", "GET", lambda w: "/online/manage/export.xlsx", ORGANIZER_ONLY),
    Case("online.new_recording", "GET", lambda w: "/online/recordings/new", ORGANIZER_ONLY),
    Case("online.rules", "GET", lambda w: "/online/rules", _row(302, 403, 403, 403, 200, 200)),
    Case("online.rules", "POST", lambda w: "/online/rules", _row(302, 403, 403, 403, 200, 200)),
    # Question banks: organizers everywhere, lecturers in the banks they are assigned.
    Case("quizzes.banks", "GET", lambda w: "/quizzes/banks/", _row(302, 403, 200, 403, 200, 403)),
    Case("quizzes.create_bank", "GET", lambda w: "/quizzes/banks/new", ORGANIZER_ONLY),
    Case("quizzes.edit_bank", "GET", lambda w: f"/quizzes/banks/{w.bank.id}/edit", ORGANIZER_ONLY),
    Case("quizzes.bank", "GET", lambda w: f"/quizzes/banks/{w.bank.id}", LECTURER_OF_IT),
    Case("quizzes.bank", "GET", lambda w: f"/quizzes/banks/{w.other_bank.id}", ORGANIZER_ONLY),
    Case("quizzes.bank", "GET", lambda w: "/quizzes/banks/999999", NOT_FOUND),
    Case(
        "quizzes.create_question",
        "GET",
        lambda w: f"/quizzes/banks/{w.bank.id}/questions/new?type=single",
        LECTURER_OF_IT,
    ),
    Case(
        "quizzes.create_question",
        "GET",
        lambda w: f"/quizzes/banks/{w.other_bank.id}/questions/new?type=single",
        ORGANIZER_ONLY,
    ),
    Case(
        "quizzes.edit_question",
        "GET",
        lambda w: f"/quizzes/questions/{w.question.id}/edit",
        LECTURER_OF_IT,
    ),
    Case(
        "quizzes.edit_question",
        "GET",
        lambda w: f"/quizzes/questions/{w.other_question.id}/edit",
        ORGANIZER_ONLY,
    ),
    Case(
        "quizzes.preview_question",
        "GET",
        lambda w: f"/quizzes/questions/{w.question.id}",
        LECTURER_OF_IT,
    ),
    Case(
        "quizzes.preview_question",
        "GET",
        lambda w: f"/quizzes/questions/{w.other_question.id}",
        ORGANIZER_ONLY,
    ),
    Case(
        "quizzes.archive_question",
        "POST",
        lambda w: f"/quizzes/questions/{w.question.id}/archive",
        _row(302, 403, 302, 403, 302, 403),
    ),
    Case(
        "quizzes.regrade_question",
        "POST",
        lambda w: f"/quizzes/questions/{w.question.id}/regrade",
        ORGANIZER_POST,
    ),
    Case(
        "quizzes.import_questions",
        "GET",
        lambda w: f"/quizzes/banks/{w.bank.id}/import",
        LECTURER_OF_IT,
    ),
    Case(
        "quizzes.import_questions",
        "GET",
        lambda w: f"/quizzes/banks/{w.other_bank.id}/import",
        ORGANIZER_ONLY,
    ),
    Case(
        "quizzes.export_xlsx",
        "GET",
        lambda w: f"/quizzes/banks/{w.bank.id}/export.xlsx",
        LECTURER_OF_IT,
    ),
    Case(
        "quizzes.export_gift",
        "GET",
        lambda w: f"/quizzes/banks/{w.other_bank.id}/export.gift",
        ORGANIZER_ONLY,
    ),
    Case(
        "quizzes.import_template",
        "GET",
        lambda w: "/quizzes/import-template.xlsx",
        _row(302, 403, 200, 403, 200, 403),
    ),
    # Quizzes: the enrolled trainee takes the session's quiz; organizers manage.
    Case("quizzes.index", "GET", lambda w: "/quizzes/", ANY_SIGNED_IN),
    Case("quizzes.create_quiz", "GET", lambda w: "/quizzes/new", ORGANIZER_ONLY),
    Case(
        "quizzes.quiz", "GET", lambda w: f"/quizzes/{w.quiz.id}", _row(302, 200, 403, 403, 200, 403)
    ),
    Case("quizzes.quiz", "GET", lambda w: f"/quizzes/{w.other_quiz.id}", ORGANIZER_ONLY),
    Case("quizzes.quiz", "GET", lambda w: "/quizzes/999999", NOT_FOUND),
    Case("quizzes.edit_quiz", "GET", lambda w: f"/quizzes/{w.quiz.id}/edit", ORGANIZER_ONLY),
    Case(
        "quizzes.set_quiz_status",
        "POST",
        lambda w: f"/quizzes/{w.quiz.id}/status?to=archived",
        ORGANIZER_POST,
    ),
    Case("quizzes.add_items", "POST", lambda w: f"/quizzes/{w.quiz.id}/items", ORGANIZER_POST),
    Case(
        "quizzes.delete_item",
        "POST",
        lambda w: f"/quizzes/{w.quiz.id}/items/{w.quiz.items[0].id}/delete",
        ORGANIZER_POST,
    ),
    Case("quizzes.add_draw", "POST", lambda w: f"/quizzes/{w.quiz.id}/draws", ORGANIZER_POST),
    Case(
        "quizzes.delete_draw",
        "POST",
        lambda w: f"/quizzes/{w.quiz.id}/draws/999999/delete",
        _row(302, 403, 403, 403, 404, 403),
    ),
    Case(
        "quizzes.start",
        "POST",
        lambda w: f"/quizzes/{w.quiz.id}/start",
        _row(302, 302, 403, 403, 403, 403),
    ),
    Case(
        "quizzes.start",
        "POST",
        lambda w: f"/quizzes/{w.other_quiz.id}/start",
        _row(302, 403, 403, 403, 403, 403),
    ),
    Case(
        "quizzes.take",
        "GET",
        lambda w: f"/quizzes/attempts/{w.attempt.id}",
        _row(302, 200, 403, 403, 403, 403),
    ),
    Case(
        "quizzes.take",
        "GET",
        lambda w: f"/quizzes/attempts/{w.other_attempt.id}",
        _row(302, 403, 403, 403, 403, 403),
    ),
    Case(
        "quizzes.answer_and_go",
        "POST",
        lambda w: f"/quizzes/attempts/{w.attempt.id}/q/1",
        _row(302, 302, 403, 403, 403, 403),
    ),
    Case(
        "quizzes.answer_and_go",
        "POST",
        lambda w: f"/quizzes/attempts/{w.other_attempt.id}/q/1",
        _row(302, 403, 403, 403, 403, 403),
    ),
    Case(
        "quizzes.autosave",
        "POST",
        lambda w: f"/quizzes/attempts/{w.other_attempt.id}/answer",
        _row(302, 403, 403, 403, 403, 403),
    ),
    Case(
        "quizzes.submit",
        "POST",
        lambda w: f"/quizzes/attempts/{w.attempt.id}/submit",
        _row(302, 302, 403, 403, 403, 403),
    ),
    Case(
        "quizzes.submit",
        "POST",
        lambda w: f"/quizzes/attempts/{w.other_attempt.id}/submit",
        _row(302, 403, 403, 403, 403, 403),
    ),
    Case(
        "quizzes.result",
        "GET",
        lambda w: f"/quizzes/attempts/{w.finished.id}/result",
        _row(302, 200, 403, 403, 200, 403),
    ),
    Case(
        "quizzes.wrong_book",
        "GET",
        lambda w: "/quizzes/wrong-book",
        _row(302, 200, 403, 200, 403, 403),
    ),
    Case(
        "quizzes.wrong_book_practice",
        "POST",
        lambda w: "/quizzes/wrong-book/practice",
        _row(302, 302, 403, 302, 403, 403),
    ),
    Case("quizzes.quiz_stats", "GET", lambda w: f"/quizzes/{w.quiz.id}/stats", ORGANIZER_ONLY),
    Case(
        "quizzes.quiz_stats_xlsx",
        "GET",
        lambda w: f"/quizzes/{w.quiz.id}/stats.xlsx",
        ORGANIZER_ONLY,
    ),
    # Attendance: the lecturer of the lesson runs its sign-in; organizers edit the grid.
    Case(
        "attendance.qr_screen",
        "GET",
        lambda w: f"/attendance/lessons/{w.lesson.id}/qr",
        LECTURER_OF_IT,
    ),
    Case(
        "attendance.qr_screen",
        "GET",
        lambda w: f"/attendance/lessons/{w.other_lesson.id}/qr",
        ORGANIZER_ONLY,
    ),
    Case(
        "attendance.scan",
        "GET",
        lambda w: "/attendance/scan/forged-token",
        _row(400, 400, 400, 400, 400, 400),
    ),
    Case(
        "attendance.confirm",
        "GET",
        lambda w: "/attendance/scan",
        _row(302, 400, 400, 400, 400, 400),
    ),
    Case(
        "attendance.grid",
        "GET",
        lambda w: f"/attendance/sessions/{w.session.id}",
        LECTURER_OF_IT,
    ),
    Case(
        "attendance.grid",
        "GET",
        lambda w: f"/attendance/sessions/{w.other_lesson.session_id}",
        ORGANIZER_ONLY,
    ),
    Case(
        "attendance.grid",
        "POST",
        lambda w: f"/attendance/sessions/{w.session.id}",
        _row(302, 403, 403, 403, 302, 403),
    ),
    Case(
        "attendance.sign_in_sheet",
        "GET",
        lambda w: f"/attendance/sessions/{w.session.id}/sheet.xlsx",
        LECTURER_OF_IT,
    ),
    Case(
        "attendance.sign_in_sheet_pdf",
        "GET",
        lambda w: f"/attendance/sessions/{w.session.id}/sheet.pdf",
        LECTURER_OF_IT,
    ),
    Case(
        "attendance.export",
        "GET",
        lambda w: f"/attendance/sessions/{w.other_lesson.session_id}/export.xlsx",
        ORGANIZER_ONLY,
    ),
    Case(
        "attendance.import_attendance",
        "GET",
        lambda w: f"/attendance/sessions/{w.session.id}/import",
        ORGANIZER_ONLY,
    ),
    # 调训 and the trainee's own pages.
    Case(
        "rotation.enrollments",
        "GET",
        lambda w: f"/rotation/sessions/{w.session.id}/enrollments",
        ORGANIZER_ONLY,
    ),
    Case(
        "rotation.decide_leave",
        "POST",
        lambda w: f"/rotation/enrollments/{w.enrollment.id}/leave?decision=refuse",
        ORGANIZER_POST,
    ),
    Case(
        "rotation.mark_absent",
        "POST",
        lambda w: f"/rotation/enrollments/{w.enrollment.id}/absent",
        ORGANIZER_POST,
    ),
    Case(
        "rotation.makeup",
        "POST",
        lambda w: f"/rotation/enrollments/{w.enrollment.id}/makeup",
        _row(302, 403, 403, 403, 400, 403),
    ),
    # Every account has a profile; the member part shows only for accounts with a member.
    Case("main.profile", "GET", lambda w: "/me/profile", ANY_SIGNED_IN),
    Case("main.my_timetable", "GET", lambda w: "/me/timetable", _row(302, 200, 403, 200, 403, 403)),
    Case("main.my_hours", "GET", lambda w: "/me/hours", _row(302, 200, 403, 200, 403, 403)),
    Case(
        "main.my_attendance", "GET", lambda w: "/me/attendance", _row(302, 200, 403, 200, 403, 403)
    ),
    Case("main.my_calendar", "GET", lambda w: "/me/calendar", _row(302, 200, 403, 200, 403, 403)),
    Case(
        "notifications.mine",
        "GET",
        lambda w: "/me/notifications",
        _row(302, 200, 403, 200, 403, 403),
    ),
    Case(
        "main.confirm_enrollment",
        "POST",
        lambda w: f"/me/enrollments/{w.enrollment.id}/confirm",
        _row(302, 302, 403, 403, 403, 403),
    ),
    Case(
        "main.confirm_enrollment",
        "POST",
        lambda w: f"/me/enrollments/{w.other_enrollment.id}/confirm",
        _row(302, 403, 403, 403, 403, 403),
    ),
    Case(
        "main.request_leave",
        "GET",
        lambda w: f"/me/enrollments/{w.enrollment.id}/leave",
        _row(302, 200, 403, 403, 403, 403),
    ),
    Case(
        "main.request_leave",
        "GET",
        lambda w: f"/me/enrollments/{w.other_enrollment.id}/leave",
        _row(302, 403, 403, 403, 403, 403),
    ),
    Case(
        "main.calendar_feed",
        "GET",
        lambda w: "/calendar/not-a-token.ics",
        _row(404, 404, 404, 404, 404, 404),
    ),
    # Rotation cycles (organizers) and progress dashboards (organizers; secretaries: own branch).
    Case("rotation.cycles", "GET", lambda w: "/rotation/cycles/", ORGANIZER_ONLY),
    Case("rotation.create_cycle", "GET", lambda w: "/rotation/cycles/new", ORGANIZER_ONLY),
    Case("rotation.cycle", "GET", lambda w: f"/rotation/cycles/{w.cycle.id}", ORGANIZER_ONLY),
    Case(
        "rotation.cycle",
        "GET",
        lambda w: "/rotation/cycles/999999",
        _row(302, 403, 403, 403, 404, 403),
    ),
    Case(
        "rotation.edit_cycle",
        "GET",
        lambda w: f"/rotation/cycles/{w.cycle.id}/edit",
        ORGANIZER_ONLY,
    ),
    Case(
        "rotation.plan_cycle",
        "POST",
        lambda w: f"/rotation/cycles/{w.cycle.id}/plan",
        ORGANIZER_POST,
    ),
    Case("rotation.move", "POST", lambda w: f"/rotation/cycles/{w.cycle.id}/move", ORGANIZER_POST),
    Case(
        "rotation.confirm_cycle",
        "POST",
        lambda w: f"/rotation/cycles/{w.cycle.id}/confirm",
        ORGANIZER_POST,
    ),
    Case(
        "rotation.discard_plan",
        "POST",
        lambda w: f"/rotation/cycles/{w.cycle.id}/discard",
        ORGANIZER_POST,
    ),
    Case("rotation.blackouts", "GET", lambda w: "/rotation/blackouts", ORGANIZER_ONLY),
    Case(
        "rotation.delete_blackout",
        "POST",
        lambda w: "/rotation/blackouts/999999/delete",
        _row(302, 403, 403, 403, 404, 403),
    ),
    Case("attendance.credit", "GET", lambda w: "/attendance/hours", ORGANIZER_ONLY),
    Case(
        "attendance.targets",
        "GET",
        lambda w: "/attendance/targets",
        _row(302, 403, 403, 403, 200, 200),
    ),
    Case(
        "attendance.member_hours",
        "GET",
        lambda w: f"/attendance/members/{w.own_member.id}/hours",
        _row(302, 200, 403, 403, 200, 403),
    ),
    Case(
        "attendance.member_hours",
        "GET",
        lambda w: f"/attendance/members/{w.branch_member.id}/hours",
        ORGANIZER_OR_SECRETARY,
    ),
    Case("reports.index", "GET", lambda w: "/reports/", ORGANIZER_OR_SECRETARY),
    Case(
        "reports.dashboard",
        "GET",
        lambda w: f"/reports/cycles/{w.cycle.id}",
        ORGANIZER_OR_SECRETARY,
    ),
    Case(
        "reports.members",
        "GET",
        lambda w: f"/reports/cycles/{w.cycle.id}/members?group=branch&key={w.secretary_branch.id}",
        ORGANIZER_OR_SECRETARY,
    ),
    Case(
        "reports.members",
        "GET",
        lambda w: f"/reports/cycles/{w.cycle.id}/members?group=branch&key={w.other_branch.id}",
        ORGANIZER_ONLY,
    ),
    Case(
        "reports.members_xlsx",
        "GET",
        lambda w: f"/reports/cycles/{w.cycle.id}/members.xlsx?state=untrained",
        ORGANIZER_OR_SECRETARY,
    ),
    Case(
        "reports.hours_xlsx",
        "GET",
        lambda w: f"/reports/cycles/{w.cycle.id}/hours.xlsx",
        ORGANIZER_OR_SECRETARY,
    ),
    Case(
        "reports.attendance_xlsx",
        "GET",
        lambda w: f"/reports/cycles/{w.cycle.id}/attendance.xlsx",
        ORGANIZER_OR_SECRETARY,
    ),
    # Certificates: the owner and organizers download; organizers issue; admins edit the template.
    Case(
        "certificates.session_overview",
        "GET",
        lambda w: f"/certificates/sessions/{w.session.id}",
        ORGANIZER_ONLY,
    ),
    Case(
        "certificates.cycle_overview",
        "GET",
        lambda w: f"/certificates/cycles/{w.cycle.id}",
        ORGANIZER_ONLY,
    ),
    Case(
        "certificates.issue_session",
        "POST",
        lambda w: f"/certificates/sessions/{w.session.id}/issue",
        ORGANIZER_POST,
    ),
    Case(
        "certificates.issue_cycle",
        "POST",
        lambda w: f"/certificates/cycles/{w.cycle.id}/issue",
        ORGANIZER_POST,
    ),
    Case(
        "certificates.cohort_overview",
        "GET",
        lambda w: "/certificates/cohorts/999999",
        _row(302, 403, 403, 403, 404, 403),
    ),
    Case(
        "certificates.issue_cohort",
        "POST",
        lambda w: "/certificates/cohorts/999999/issue",
        _row(302, 403, 403, 403, 404, 403),
    ),
    Case(
        "certificates.cohort_zip",
        "GET",
        lambda w: "/certificates/cohorts/999999/certificates.zip",
        _row(302, 403, 403, 403, 404, 403),
    ),
    Case(
        "certificates.job",
        "GET",
        lambda w: "/certificates/jobs/999999",
        _row(302, 403, 403, 403, 404, 403),
    ),
    Case(
        "certificates.download",
        "GET",
        lambda w: f"/certificates/{w.certificate.id}.pdf",
        _row(302, 404, 403, 403, 404, 403),  # no stored file in this world: 404 once allowed
    ),
    Case(
        "certificates.download",
        "GET",
        lambda w: f"/certificates/{w.other_certificate.id}.pdf",
        _row(302, 403, 403, 403, 404, 403),
    ),
    Case(
        "certificates.mine",
        "GET",
        lambda w: "/certificates/mine",
        _row(302, 200, 403, 200, 403, 403),
    ),
    Case(
        "certificates.session_zip",
        "GET",
        lambda w: f"/certificates/sessions/{w.session.id}/certificates.zip",
        ORGANIZER_ONLY,
    ),
    Case(
        "certificates.session_combined",
        "GET",
        lambda w: f"/certificates/sessions/{w.other_lesson.session_id}/combined.pdf",
        ORGANIZER_ONLY,
    ),
    Case(
        "certificates.revoke",
        "POST",
        lambda w: f"/certificates/{w.certificate.id}/revoke",
        ORGANIZER_POST,
    ),
    Case(
        "certificates.reissue",
        "POST",
        lambda w: "/certificates/999999/reissue",
        _row(302, 403, 403, 403, 404, 403),
    ),
    Case(
        "certificates.verify",
        "GET",
        lambda w: f"/verify/{w.certificate.verify_token}",
        _row(200, 200, 200, 200, 200, 200),
    ),
    Case("certificates.verify", "GET", lambda w: "/verify/nope", NOT_FOUND | {"anonymous": 404}),
    Case("certificates.template", "GET", lambda w: "/certificates/template", ADMIN_ONLY),
    # Training evaluation: the trainee who attended evaluates; lecturers see their own
    # averages; organizers the reports; admins the names setting.
    Case("evaluation.evaluate", "GET", _attended_session, _row(302, 200, 403, 403, 403, 403)),
    Case(
        "evaluation.evaluate",
        "GET",
        lambda w: f"/evaluation/sessions/{w.session.id}",  # not attended: may not evaluate
        _row(302, 403, 403, 403, 403, 403),
    ),
    Case(
        "evaluation.evaluate",
        "GET",
        lambda w: f"/evaluation/sessions/{w.other_lesson.session_id}",
        _row(302, 403, 403, 403, 403, 403),
    ),
    Case("evaluation.evaluate", "GET", lambda w: "/evaluation/sessions/999999", NOT_FOUND),
    Case("evaluation.evaluate", "POST", _attended_session, _row(302, 200, 403, 403, 403, 403)),
    Case(
        "evaluation.mine", "GET", lambda w: "/evaluation/mine", _row(302, 403, 200, 403, 403, 403)
    ),
    Case("evaluation.report", "GET", lambda w: "/evaluation/", ORGANIZER_ONLY),
    Case("evaluation.report_xlsx", "GET", lambda w: "/evaluation/report.xlsx", ORGANIZER_ONLY),
    Case(
        "evaluation.session_report",
        "GET",
        lambda w: f"/evaluation/sessions/{w.session.id}/report",
        ORGANIZER_ONLY,
    ),
    Case(
        "evaluation.session_report",
        "GET",
        lambda w: "/evaluation/sessions/999999/report",
        _row(302, 403, 403, 403, 404, 403),
    ),
    Case(
        "evaluation.session_report_xlsx",
        "GET",
        lambda w: f"/evaluation/sessions/{w.session.id}/report.xlsx",
        ORGANIZER_ONLY,
    ),
    Case("evaluation.settings", "GET", lambda w: "/evaluation/settings", ADMIN_ONLY),
    Case(
        "evaluation.settings",
        "POST",
        lambda w: "/evaluation/settings",
        _row(302, 403, 403, 403, 403, 302),
    ),
    Case("admin.users", "GET", lambda w: "/admin/users", ADMIN_ONLY),
    Case("admin.create_user", "GET", lambda w: "/admin/users/new", ADMIN_ONLY),
    Case("admin.edit_user", "GET", lambda w: f"/admin/users/{w.some_user.id}", ADMIN_ONLY),
    Case(
        "admin.edit_user",
        "GET",
        lambda w: "/admin/users/999999",
        _row(302, 403, 403, 403, 403, 404),
    ),
    Case(
        "admin.reset_password",
        "POST",
        lambda w: f"/admin/users/{w.some_user.id}/reset-password",
        ADMIN_ONLY,
    ),
    Case("admin.audit", "GET", lambda w: "/admin/audit", ADMIN_ONLY),
]


def test_every_route_is_in_the_matrix(app):
    listed = {case.endpoint for case in CASES}
    routes = {rule.endpoint for rule in app.url_map.iter_rules()} - EXEMPT
    missing = sorted(routes - listed)
    assert not missing, f"routes without an access-matrix entry: {missing}"
    assert not listed - routes, f"matrix lists unknown endpoints: {sorted(listed - routes)}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.endpoint}")
def test_access(client, world, case, role):
    if role != "anonymous":
        login(client, world.users[role])
    response = client.open(case.url(world), method=case.method)
    assert response.status_code == case.expected[role], response.get_data(as_text=True)[:300]
    count("security: access matrix checks (URL case × role)")
    if (
        role == "anonymous"
        and response.status_code == 302
        and case.endpoint
        not in {
            "auth.logout",
            "auth.set_language",
        }
    ):
        assert "/login" in response.location


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.method == "POST"], ids=lambda c: f"{c.method} {c.endpoint}"
)
def test_every_post_is_refused_without_csrf_token(client, world, case, csrf_enabled):
    login(client, world.users["admin"])
    response = client.open(case.url(world), method="POST")
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)
    count("security: POSTs refused without a CSRF token")
