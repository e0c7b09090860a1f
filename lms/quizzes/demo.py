"""The shipped question banks (YAML files) and the demo quizzes."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from lms.catalog.demo import course_by_code
from lms.content_files import ContentError, read_yaml
from lms.extensions import db
from lms.quizzes.formats.yaml_bank import BankFileError, read_bank_file
from lms.quizzes.models import CountingRule, Feedback, Quiz, QuizStatus
from lms.quizzes.services import (
    QuizData,
    add_quiz_draw,
    bank_by_name,
    category_by_path,
    create_quiz,
    import_questions,
)
from lms.sessions.models import TrainingSession


def load_questions(folder: Path) -> str:
    """Every bank file in `folder`, all checked before any is loaded; loading again updates."""
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
    session_id = course_id = None
    if title := entry.get("session"):
        session_id = db.session.scalar(
            sa.select(TrainingSession.id).where(TrainingSession.title == str(title))
        )
        if session_id is None:
            raise ContentError(f"{path}: {where}.session: unknown session {title}")
    elif code := entry.get("course"):
        course_id = course_by_code(path, f"{where}.course", code).id
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
    data = read_yaml(path)
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
