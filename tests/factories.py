"""Factories for every model: each makes a valid object with sensible defaults and flushes."""

from __future__ import annotations

import io
import itertools
from datetime import date, time, timedelta
from decimal import Decimal

from werkzeug.security import generate_password_hash

from lms.attendance.models import Attendance, AttendanceMethod, AttendanceStatus
from lms.audit.models import AuditLog
from lms.auth.models import Role, User
from lms.catalog.models import Course, CourseFormat, CourseStatus, Theme
from lms.clock import from_local
from lms.extensions import db
from lms.materials.models import Material, Visibility
from lms.materials.services import add_material
from lms.materials.storage import store
from lms.org.models import Branch, Category, Department, Gender, Member, Shift
from lms.quizzes.models import Question, QuestionBank, Quiz, QuizStatus
from lms.quizzes.questions import QuestionData, QuestionType
from lms.quizzes.services import QuizData, add_quiz_item, create_quiz, save_question
from lms.rotation.models import RotationCycle
from lms.sessions.models import Enrollment, Lesson, SessionStatus, TrainingSession

_seq = itertools.count(1)
# A cheap hash keeps tests fast; the real work factor is tested in test_auth.
FAST_HASH = "pbkdf2:sha256:1"
PASSWORD = "Passw0rd!"


def _n() -> int:
    return next(_seq)


def make_department(name: str | None = None) -> Department:
    department = Department(name=name or f"测试部门{_n()}")
    db.session.add(department)
    db.session.flush()
    return department


def make_shift(name: str | None = None) -> Shift:
    shift = Shift(name=name or f"{_n()}值")
    db.session.add(shift)
    db.session.flush()
    return shift


def make_branch(
    name: str | None = None, department: Department | None = None, secretary=None
) -> Branch:
    branch = Branch(name=name or f"测试第{_n()}党支部", department=department or make_department())
    db.session.add(branch)
    db.session.flush()
    if secretary is not None:
        branch.secretary = secretary
        db.session.flush()
    return branch


def make_member(
    *,
    name: str = "张三",
    staff_no: str | None = None,
    branch: Branch | None = None,
    shift: Shift | None = None,
    category: Category = Category.MEMBER,
    active: bool = True,
    joined_party_on: date | None = date(2010, 7, 1),
) -> Member:
    branch = branch or make_branch()
    member = Member(
        staff_no=staff_no or f"T{_n():06d}",
        name=name,
        gender=Gender.MALE,
        department_id=branch.department_id,
        branch=branch,
        shift=shift,
        category=category,
        joined_party_on=joined_party_on,
        active=active,
    )
    db.session.add(member)
    db.session.flush()
    return member


def make_user(
    *,
    roles: set[Role | str] | None = None,
    member: Member | None = None,
    username: str | None = None,
    password: str = PASSWORD,
    must_change_password: bool = False,
    active: bool = True,
) -> User:
    user = User(
        username=username or f"user{_n()}",
        password_hash=generate_password_hash(password, method=FAST_HASH),
        member=member,
        must_change_password=must_change_password,
        active=active,
    )
    user.set_roles({Role(r) for r in (roles or {Role.TRAINEE})})
    db.session.add(user)
    db.session.flush()
    return user


def make_secretary(branch: Branch | None = None) -> User:
    """A branch secretary user: a member of `branch` who is its secretary."""
    branch = branch or make_branch()
    member = make_member(branch=branch, category=Category.CADRE)
    branch.secretary = member
    db.session.flush()
    return make_user(roles={Role.SECRETARY, Role.TRAINEE}, member=member)


def make_theme(name: str | None = None) -> Theme:
    theme = Theme(name=name or f"主题{_n()}")
    db.session.add(theme)
    db.session.flush()
    return theme


def make_course(
    *,
    title: str = "学习党章",
    code: str | None = None,
    status: CourseStatus = CourseStatus.PUBLISHED,
    theme: Theme | None = None,
    format: CourseFormat = CourseFormat.PARTY_LECTURE,
    hours: str = "2",
    description: str = "",
    categories: set[Category] | None = None,
    lecturers: list[User] | None = None,
) -> Course:
    course = Course(
        code=code or f"C{_n():04d}",
        title=title,
        theme=theme or make_theme(),
        format=format,
        hours=Decimal(hours),
        description=description,
        status=status,
        lecturers=lecturers or [],
    )
    course.set_categories(categories or set())
    db.session.add(course)
    db.session.flush()
    return course


def make_audit_log(action: str = "test.action") -> AuditLog:
    entry = AuditLog(action=action, target_type="test", target_id="1", details={})
    db.session.add(entry)
    db.session.flush()
    return entry


def make_session(
    *,
    title: str | None = None,
    start: date = date(2026, 11, 26),
    days: int = 2,
    status: SessionStatus = SessionStatus.OPEN,
    capacity: int = 60,
    venue: str = "党校教室",
) -> TrainingSession:
    session = TrainingSession(
        title=title or f"2026年第{_n()}期",
        start_date=start,
        end_date=start + timedelta(days=days - 1),
        venue=venue,
        capacity=capacity,
        status=status,
    )
    db.session.add(session)
    db.session.flush()
    return session


def make_lesson(
    *,
    session: TrainingSession | None = None,
    course: Course | None = None,
    lecturer: User | None = None,
    day: date | None = None,
    start: time = time(8, 30),
    end: time = time(10, 30),
    room: str = "",
) -> Lesson:
    session = session or make_session()
    day = day or session.start_date
    lesson = Lesson(
        session=session,
        course=course or make_course(),
        lecturer=lecturer,
        starts_at=from_local(day, start),
        ends_at=from_local(day, end),
        room=room,
    )
    db.session.add(lesson)
    db.session.flush()
    return lesson


def make_enrollment(session: TrainingSession, member: Member) -> Enrollment:
    enrollment = Enrollment(session=session, member=member)
    db.session.add(enrollment)
    db.session.flush()
    return enrollment


def make_attendance(member: Member, lesson: Lesson, status: str = "present") -> Attendance:
    """A manual attendance record (`status`: present, late, left_early, absent, on_leave)."""
    item = Attendance(
        member_id=member.id,
        lesson_id=lesson.id,
        status=AttendanceStatus(status),
        method=AttendanceMethod.MANUAL,
    )
    db.session.add(item)
    db.session.flush()
    return item


def make_material(
    *,
    uploader: User,
    course: Course | None = None,
    lesson: Lesson | None = None,
    visibility: Visibility = Visibility.ENROLLED,
    name: str = "讲义.pdf",
    content: bytes | None = None,
) -> Material:
    from tests import samples

    stored = store(io.BytesIO(content or samples.pdf()), name)
    return add_material(uploader, stored, "", visibility, course=course, lesson=lesson)


def make_bank(name: str | None = None, authors: list[User] | None = None) -> QuestionBank:
    bank = QuestionBank(name=name or f"题库{_n()}", authors=authors or [])
    db.session.add(bank)
    db.session.flush()
    return bank


def make_question(
    bank: QuestionBank | None = None,
    *,
    type: QuestionType = QuestionType.SINGLE,
    stem: str | None = None,
    options: list[str] | None = None,
    correct: list[int] | None = None,
    blanks: list[list[str]] | None = None,
    category: str = "",
    difficulty: int = 2,
    ref: str | None = None,
    explanation: str = "见党章总纲。",
    source: str = "《中国共产党章程》总纲",
) -> Question:
    n = _n()
    if type is QuestionType.SINGLE:
        options = options or ["甲", "乙", "丙", "丁"]
        correct = [1] if correct is None else correct
    elif type is QuestionType.MULTIPLE:
        options = options or ["甲", "乙", "丙", "丁"]
        correct = [0, 2] if correct is None else correct
    elif type is QuestionType.TRUE_FALSE:
        options, correct = [], [0] if correct is None else correct
    else:
        blanks = blanks or [["共产主义"]]
    data = QuestionData(
        type=type,
        stem=stem
        or (f"第{n}题：党的最高理想是____。" if type is QuestionType.FILL_BLANK else f"第{n}题"),
        options=options or [],
        correct=correct or [],
        blanks=blanks or [],
        explanation=explanation,
        source=source,
        difficulty=difficulty,
        category=category,
        ref=ref if ref is not None else f"Q{n}",
    )
    question, _outcome = save_question(bank or make_bank(), data, None)
    return question


def make_quiz(
    questions: list[Question] | None = None,
    *,
    session: TrainingSession | None = None,
    course: Course | None = None,
    status: QuizStatus = QuizStatus.PUBLISHED,
    **settings,
) -> Quiz:
    settings.setdefault("shuffle_questions", False)
    settings.setdefault("shuffle_options", False)
    if session is None and course is None:
        course = make_course()
    quiz = create_quiz(
        QuizData(
            title=settings.pop("title", f"测试{_n()}"),
            session_id=session.id if session else None,
            course_id=course.id if course else None,
            **settings,
        )
    )
    for question in questions if questions is not None else [make_question()]:
        add_quiz_item(quiz, question, Decimal(1))
    quiz.status = status
    db.session.flush()
    return quiz


def make_cycle(
    *,
    name: str | None = None,
    start: date = date(2026, 1, 1),
    end: date = date(2030, 12, 31),
    categories: set[Category] | None = None,
    required_sessions: int = 1,
    required_hours: str = "0",
    cap_share: str = "0.30",
) -> RotationCycle:
    cycle = RotationCycle(
        name=name or f"轮训周期{_n()}",
        start_date=start,
        end_date=end,
        required_sessions=required_sessions,
        required_hours=Decimal(required_hours),
        cap_share=Decimal(cap_share),
        plan_notes={},
    )
    cycle.set_categories(categories or set())
    db.session.add(cycle)
    db.session.flush()
    return cycle
