"""Loading the shipped content (demo organisation, members, accounts, catalog) into the database."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import sqlalchemy as sa
import yaml

from lms.admin.services import create_user
from lms.auth.models import Role, User
from lms.catalog.models import FORMAT_CONTENT_NAMES, Course, CourseStatus, Theme
from lms.extensions import db
from lms.org.models import Branch, Department, Member, Shift, branch_secretaries
from lms.org.roster import CATEGORY_WORDS, Progress, import_roster
from lms.paths import shipped


class ContentError(Exception):
    """A content file is invalid: the message names the file, the field and the reason."""


@dataclass
class LoadReport:
    lines: list[str] = field(default_factory=list)
    accounts: list[tuple[str, str, str]] = field(default_factory=list)  # username, password, roles


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"{path}: cannot be read: {exc}") from exc


def load_organisation(path: Path) -> str:
    data = _read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("departments"), list):
        raise ContentError(f"{path}: field 'departments': a list is required")
    created = 0
    for d_pos, entry in enumerate(data["departments"]):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise ContentError(f"{path}: departments[{d_pos}].name: a name is required")
        department = db.session.scalar(sa.select(Department).where(Department.name == name))
        if department is None:
            department = Department(name=name, position=d_pos)
            db.session.add(department)
            db.session.flush()
            created += 1
        for b_pos, branch_name in enumerate(entry.get("branches") or []):
            branch = db.session.scalar(sa.select(Branch).where(Branch.name == branch_name))
            if branch is None:
                db.session.add(Branch(name=branch_name, department=department, position=b_pos))
                created += 1
            elif branch.department_id != department.id:
                raise ContentError(
                    f"{path}: departments[{d_pos}].branches: {branch_name} already belongs "
                    "to another department"
                )
    for s_pos, shift_name in enumerate(data.get("shifts") or []):
        if db.session.scalar(sa.select(Shift).where(Shift.name == shift_name)) is None:
            db.session.add(Shift(name=shift_name, position=s_pos))
            created += 1
    db.session.flush()
    return f"organisation: {created} new departments, branches and shifts"


def load_secretaries(path: Path) -> str:
    data = _read_yaml(path) or {}
    assigned = 0
    for branch_name, staff_no in (data.get("secretaries") or {}).items():
        branch = db.session.scalar(sa.select(Branch).where(Branch.name == branch_name))
        member = db.session.scalar(sa.select(Member).where(Member.staff_no == str(staff_no)))
        if branch is None or member is None:
            raise ContentError(
                f"{path}: secretaries.{branch_name}: unknown branch or 工号 {staff_no}"
            )
        current = db.session.scalar(
            sa.select(branch_secretaries.c.member_id).where(
                branch_secretaries.c.branch_id == branch.id
            )
        )
        if current is None:
            branch.secretary = member
            assigned += 1
    db.session.flush()
    return f"secretaries: {assigned} assigned"


def load_members(path: Path, progress: Progress | None = None) -> str:
    with path.open("rb") as stream:
        result = import_roster(path.name, stream, progress=progress)
    if not result.ok:
        first = result.errors[0]
        raise ContentError(f"{path}: row {first.row}, {first.column}: {first.message}")
    return f"members: {result.created} new, {result.updated} updated, {result.unchanged} unchanged"


def load_accounts(path: Path) -> tuple[str, list[tuple[str, str, str]]]:
    data = _read_yaml(path)
    if not isinstance(data, list):
        raise ContentError(f"{path}: a list of accounts is required")
    listed = []
    created = 0
    for index, entry in enumerate(data):
        try:
            username = str(entry["username"])
            password = str(entry["password"])
            roles = {Role(role) for role in entry["roles"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise ContentError(
                f"{path}: [{index}]: username, password and roles required ({exc})"
            ) from exc
        listed.append((username, password, ", ".join(sorted(roles))))
        if db.session.scalar(sa.select(User.id).where(User.username == username)):
            continue
        member_id = None
        if staff_no := entry.get("member"):
            member_id = db.session.scalar(
                sa.select(Member.id).where(Member.staff_no == str(staff_no))
            )
            if member_id is None:
                raise ContentError(f"{path}: [{index}].member: unknown 工号 {staff_no}")
        create_user(
            username=username,
            password=password,
            roles=roles,
            display_name=entry.get("display_name", ""),
            member_id=member_id,
            one_time=False,
        )
        created += 1
    return f"accounts: {created} new", listed


def _front_matter(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", text, re.S)
    if not match:
        raise ContentError(
            f"{path.name}: front matter: the file must start with a '---' YAML block"
        )
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ContentError(f"{path.name}: front matter: invalid YAML ({exc})") from exc
    if not isinstance(meta, dict):
        raise ContentError(f"{path.name}: front matter: a mapping of fields is required")
    return meta, match.group(2).strip()


def _course_from_file(path: Path, themes: dict[str, int]) -> dict:
    """Validate one course file; the error names the file, the field and the reason."""
    meta, body = _front_matter(path)

    def fail(field: str, reason: str) -> ContentError:
        return ContentError(f"{path.name}: {field}: {reason}")

    code = str(meta.get("code") or "")
    if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z_\-]{0,31}", code):
        raise fail("code", "required; letters, digits, '-' or '_', at most 32")
    title = str(meta.get("title") or "").strip()
    if not title or len(title) > 128:
        raise fail("title", "required, at most 128 characters")
    if meta.get("theme") not in themes:
        raise fail("theme", f"unknown theme {meta.get('theme')!r}; known: {', '.join(themes)}")
    if meta.get("format") not in FORMAT_CONTENT_NAMES:
        raise fail("format", f"unknown format {meta.get('format')!r}")
    try:
        hours = Decimal(str(meta.get("hours")))
    except InvalidOperation:
        raise fail("hours", f"not a number: {meta.get('hours')!r}") from None
    if (
        not hours.is_finite()
        or not (Decimal("0.5") <= hours <= 100)
        or hours != hours.quantize(Decimal("0.1"))
    ):
        raise fail("hours", "between 0.5 and 100, at most one decimal")
    raw_categories = meta.get("categories") or []
    if not isinstance(raw_categories, list):
        raise fail("categories", "a list is required")
    categories = set()
    for name in raw_categories:
        if name not in CATEGORY_WORDS:
            raise fail("categories", f"unknown category {name!r}")
        categories.add(CATEGORY_WORDS[name])
    status = meta.get("status", "draft")
    if status not in set(CourseStatus):
        raise fail("status", f"one of draft, published, archived, not {status!r}")
    return {
        "code": code,
        "title": title,
        "theme_id": themes[meta["theme"]],
        "format": FORMAT_CONTENT_NAMES[meta["format"]],
        "hours": hours,
        "description": body,
        "status": CourseStatus(status),
        "categories": categories,
    }


def load_catalog(folder: Path) -> str:
    """Load themes and courses; every file is checked before anything is written."""
    names = _read_yaml(folder / "themes.yaml")
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ContentError(f"{folder / 'themes.yaml'}: a list of theme names is required")
    themes = {t.name: t for t in db.session.scalars(sa.select(Theme))}
    for position, name in enumerate(names):
        if name not in themes:
            themes[name] = Theme(name=name, position=position)
            db.session.add(themes[name])
    db.session.flush()
    theme_ids = {name: theme.id for name, theme in themes.items()}
    parsed = [_course_from_file(path, theme_ids) for path in sorted(folder.glob("*.md"))]
    codes = [course["code"] for course in parsed]
    if len(codes) != len(set(codes)):
        raise ContentError(f"{folder}: code: the same course code appears in two files")
    existing = {c.code: c for c in db.session.scalars(sa.select(Course))}
    created = updated = 0
    for data in parsed:
        categories = data.pop("categories")
        course = existing.get(data["code"])
        if course is None:
            course = Course(**data)
            db.session.add(course)
            created += 1
        elif (
            any(getattr(course, key) != value for key, value in data.items())
            or set(course.categories) != categories
        ):
            for key, value in data.items():
                setattr(course, key, value)
            updated += 1
        course.set_categories(categories)
    db.session.flush()
    return f"catalog: {created} new courses, {updated} updated"


def _user_by_name(path: Path, where: str, username: object) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == str(username)))
    if user is None:
        raise ContentError(f"{path}: {where}: unknown user {username}")
    return user


def _course_by_code(path: Path, where: str, code: object) -> Course:
    course = db.session.scalar(sa.select(Course).where(Course.code == str(code)))
    if course is None:
        raise ContentError(f"{path}: {where}: unknown course {code}")
    return course


def _demo_session(path: Path, where: str, entry: dict) -> None:
    from lms.attendance.models import Attendance, AttendanceMethod, AttendanceStatus
    from lms.sessions.models import Enrollment, EnrollmentStatus, SessionStatus
    from lms.sessions.services import LessonData, ScheduleError, SessionData, add_lesson
    from lms.sessions.services import create_session as create_training_session

    try:
        start, end = entry["start"], entry.get("end", entry["start"])
        status = SessionStatus(entry.get("status", "planned"))
        categories = {CATEGORY_WORDS[word] for word in entry.get("categories") or []}
        data = SessionData(
            title=str(entry["title"]),
            start_date=start,
            end_date=end,
            venue=str(entry.get("venue", "")),
            capacity=int(entry["capacity"]),
            enrolment_deadline=entry.get("enrolment_deadline"),
            categories=categories,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ContentError(f"{path}: {where}: title, start and capacity required ({exc})") from exc
    session = create_training_session(data)
    for n, item in enumerate(entry.get("lessons") or []):
        here = f"{where}.lessons[{n}]"
        try:
            lesson = LessonData(
                course_id=_course_by_code(path, here, item["course"]).id,
                lecturer_id=_user_by_name(path, here, item["lecturer"]).id,
                day=session.start_date + timedelta(days=int(item["day"]) - 1),
                start=time.fromisoformat(item["start"]),
                end=time.fromisoformat(item["end"]),
                room=str(item.get("room", "")),
            )
            add_lesson(session, lesson)
        except (KeyError, TypeError, ValueError) as exc:
            raise ContentError(
                f"{path}: {here}: day, start, end and course required ({exc})"
            ) from exc
        except ScheduleError as exc:
            raise ContentError(f"{path}: {here}: {'; '.join(exc.messages)}") from exc
    session.status = status
    attended = entry.get("attended") == "all"
    for staff_no in entry.get("enrolled") or []:
        member_id = db.session.scalar(sa.select(Member.id).where(Member.staff_no == str(staff_no)))
        if member_id is None:
            raise ContentError(f"{path}: {where}.enrolled: unknown 工号 {staff_no}")
        enrollment = Enrollment(session=session, member_id=member_id)
        db.session.add(enrollment)
        if attended:
            enrollment.status = EnrollmentStatus.COMPLETED
            db.session.add_all(
                Attendance(
                    member_id=member_id,
                    lesson_id=lesson.id,
                    status=AttendanceStatus.PRESENT,
                    method=AttendanceMethod.MANUAL,
                )
                for lesson in session.lessons
            )
    if attended:
        from lms.attendance.services import refresh_totals

        db.session.flush()
        _demo_evaluations(path, where, session, entry.get("evaluated") or [])

        db.session.flush()
        refresh_totals(
            set(
                db.session.scalars(
                    sa.select(Enrollment.member_id).where(Enrollment.session_id == session.id)
                )
            ),
            {session.id},
        )


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
    from lms.evaluation.models import LessonRating, SessionEvaluation

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


def load_teaching(path: Path) -> str:
    """Default lecturers of courses and the demo sessions with their timetables."""
    from lms.sessions.models import TrainingSession

    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise ContentError(f"{path}: course_lecturers and sessions required")
    for username, codes in (data.get("course_lecturers") or {}).items():
        lecturer = _user_by_name(path, "course_lecturers", username)
        for code in codes:
            course = _course_by_code(path, f"course_lecturers.{username}", code)
            if not course.lecturers:
                course.lecturers = [lecturer]
    created = 0
    for index, entry in enumerate(data.get("sessions") or []):
        if not isinstance(entry, dict):
            raise ContentError(f"{path}: sessions[{index}]: a mapping is required")
        title = str(entry.get("title", ""))
        if db.session.scalar(sa.select(TrainingSession.id).where(TrainingSession.title == title)):
            continue
        _demo_session(path, f"sessions[{index}]", entry)
        created += 1
    db.session.flush()
    return f"sessions: {created} new"


def load_questions(folder: Path) -> str:
    """Every bank file in `folder`, all checked before any is loaded; loading again updates."""
    from lms.quizzes.formats.yaml_bank import BankFileError, read_bank_file
    from lms.quizzes.services import bank_by_name, import_questions

    try:
        files = [read_bank_file(path) for path in sorted(folder.glob("*.yaml"))]
    except BankFileError as exc:
        raise ContentError(str(exc)) from exc
    refs: dict[tuple[str, str], str] = {}
    for path, bank_file in zip(sorted(folder.glob("*.yaml")), files, strict=True):
        for q in bank_file.questions:
            if (bank_file.bank, q.ref) in refs:
                raise ContentError(f"{path}: ref {q.ref} is also in {refs[bank_file.bank, q.ref]}")
            refs[bank_file.bank, q.ref] = path.name
    groups = Counter(
        (bank_file.bank, q.exclusive_group)
        for bank_file in files
        for q in bank_file.questions
        if q.exclusive_group
    )
    if lonely := sorted(group for (_bank, group), n in groups.items() if n == 1):
        # A group of one keeps nothing apart: most likely a misspelt key.
        raise ContentError(f"exclusive_group {', '.join(lonely)}: only one question has it")
    created = updated = 0
    for bank_file in files:
        summary = import_questions(
            bank_by_name(bank_file.bank, create=True), bank_file.questions, None
        )
        created += summary.created
        updated += summary.updated
    return f"questions: {created} new, {updated} updated, {len(refs)} in {len(files)} files"


def _demo_quiz(path: Path, where: str, entry: dict) -> None:
    from lms.quizzes.models import CountingRule, Feedback, QuizStatus
    from lms.quizzes.services import (
        QuizData,
        add_quiz_draw,
        bank_by_name,
        category_by_path,
        create_quiz,
    )
    from lms.sessions.models import TrainingSession

    session_id = course_id = None
    if title := entry.get("session"):
        session_id = db.session.scalar(
            sa.select(TrainingSession.id).where(TrainingSession.title == str(title))
        )
        if session_id is None:
            raise ContentError(f"{path}: {where}.session: unknown session {title}")
    elif code := entry.get("course"):
        course_id = _course_by_code(path, f"{where}.course", code).id
    try:
        quiz = create_quiz(
            QuizData(
                title=str(entry["title"]),
                description=str(entry.get("description", "")),
                session_id=session_id,
                course_id=course_id,
                time_limit_minutes=entry.get("time_limit_minutes"),
                max_attempts=int(entry.get("max_attempts", 1)),
                pass_mark=int(entry.get("pass_mark", 80)),
                counting=CountingRule(entry.get("counting", "highest")),
                feedback=Feedback(entry.get("feedback", "immediate")),
                practice=bool(entry.get("practice", False)),
            )
        )
        quiz.status = QuizStatus(entry.get("status", "draft"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ContentError(f"{path}: {where}: {exc}") from exc
    for n, draw in enumerate(entry.get("draws") or []):
        bank = bank_by_name(str(draw.get("bank", "")))
        if bank is None:
            raise ContentError(f"{path}: {where}.draws[{n}].bank: unknown bank {draw.get('bank')}")
        category = category_by_path(bank, str(draw.get("category", "")))
        add_quiz_draw(quiz, bank, category, draw.get("difficulty"), int(draw["count"]), Decimal(1))


def load_quizzes(path: Path) -> str:
    from lms.quizzes.models import Quiz

    data = _read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("quizzes"), list):
        raise ContentError(f"{path}: field 'quizzes' (a list) is required")
    created = 0
    for index, entry in enumerate(data["quizzes"]):
        if not isinstance(entry, dict):
            raise ContentError(f"{path}: quizzes[{index}]: a mapping is required")
        if db.session.scalar(sa.select(Quiz.id).where(Quiz.title == str(entry.get("title")))):
            continue
        _demo_quiz(path, f"quizzes[{index}]", entry)
        created += 1
    db.session.flush()
    return f"quizzes: {created} new"


def load_rotation(path: Path) -> str:
    from lms.rotation.models import RotationCycle
    from lms.rotation.services import CycleData, population, save_cycle
    from lms.sessions.models import Enrollment, TrainingSession

    data = _read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("cycles"), list):
        raise ContentError(f"{path}: field 'cycles' (a list) is required")
    created = 0
    for index, entry in enumerate(data["cycles"]):
        where = f"{path}: cycles[{index}]"
        name = str((entry or {}).get("name", ""))
        if db.session.scalar(sa.select(RotationCycle.id).where(RotationCycle.name == name)):
            continue
        try:
            cycle = save_cycle(
                CycleData(
                    name=name,
                    start_date=entry["start"],
                    end_date=entry["end"],
                    categories={CATEGORY_WORDS[w] for w in entry.get("categories") or []},
                    branch_ids=[],
                    required_sessions=int(entry.get("required_sessions", 1)),
                    required_hours=Decimal(str(entry.get("required_hours", 0))),
                    cap_share=Decimal(int(entry.get("cap_percent", 30))) / 100,
                )
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise ContentError(f"{where}: name, start and end required ({exc})") from exc
        in_cycle = sa.select(TrainingSession.id).where(
            TrainingSession.start_date >= cycle.start_date,
            TrainingSession.end_date <= cycle.end_date,
        )
        # One live enrollment per member in a cycle: the earliest counts, later ones stay outside.
        attached: set[int] = set()
        for enrollment in db.session.scalars(
            sa.select(Enrollment)
            .join(TrainingSession, TrainingSession.id == Enrollment.session_id)
            .where(
                Enrollment.session_id.in_(in_cycle),
                Enrollment.cycle_id.is_(None),
                Enrollment.member_id.in_(population(cycle).with_only_columns(Member.id)),
            )
            .order_by(TrainingSession.start_date, Enrollment.id)
        ):
            if enrollment.member_id not in attached:
                enrollment.cycle_id = cycle.id
                attached.add(enrollment.member_id)
        created += 1
    db.session.flush()
    return f"cycles: {created} new"


def load_recordings(path: Path) -> str:
    """Demo recordings: each MP4 stored as a course material (all members) and made a
    recording; a title already there is left alone."""
    from lms.catalog.models import Course
    from lms.materials.models import Visibility
    from lms.materials.services import add_material
    from lms.materials.storage import UploadRefused, store
    from lms.online.models import Recording
    from lms.online.services import create_recording, mp4_duration

    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise ContentError(f"{path}: recordings required")
    created = 0
    for index, entry in enumerate(data.get("recordings") or []):
        where = f"recordings[{index}]"
        if not isinstance(entry, dict):
            raise ContentError(f"{path}: {where}: a mapping is required")
        title = str(entry.get("title", ""))
        if db.session.scalar(sa.select(Recording.id).where(Recording.title == title)):
            continue
        uploader = _user_by_name(path, where, entry.get("uploader"))
        code = entry.get("course")
        if code == "first":
            course = db.session.scalars(sa.select(Course).order_by(Course.code)).first()
        else:
            course = _course_by_code(path, where, code)
        video = path.parent / str(entry.get("file", ""))
        try:
            with video.open("rb") as stream:
                seconds = mp4_duration(stream)
                stream.seek(0)
                stored = store(stream, video.name)
        except (OSError, UploadRefused) as exc:
            reason = getattr(exc, "message", exc)
            raise ContentError(f"{path}: {where}: {video.name}: {reason}") from exc
        if not seconds:
            raise ContentError(f"{path}: {where}: {video.name}: no running time in the file")
        material = add_material(uploader, stored, title, Visibility.ALL, course=course)
        create_recording(uploader, material, title, seconds, None, None)
        created += 1
    db.session.flush()
    return f"recordings: {created} new"


def load_demo(progress: Progress | None = None) -> LoadReport:
    """Load the demo organisation, members and accounts; loading twice changes nothing."""
    folder = shipped("content") / "demo"
    report = LoadReport()
    report.lines.append(load_organisation(folder / "organisation.yaml"))
    report.lines.append(load_members(folder / "members.csv", progress))
    report.lines.append(load_secretaries(folder / "organisation.yaml"))
    line, report.accounts = load_accounts(folder / "accounts.yaml")
    report.lines.append(line)
    report.lines.append(load_catalog(shipped("content") / "catalog"))
    report.lines.append(load_teaching(folder / "sessions.yaml"))
    report.lines.append(load_questions(shipped("content") / "questions"))
    report.lines.append(load_quizzes(folder / "quizzes.yaml"))
    report.lines.append(load_rotation(folder / "rotation.yaml"))
    report.lines.append(load_recordings(folder / "recordings.yaml"))
    return report
