"""Evaluation results: the averages and comments each reader may see (lecturers never names, and
nothing under MIN_RATINGS_SHOWN ratings; organizers names only when the setting is on)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from lms.audit.services import record_audit
from lms.auth.models import User
from lms.catalog.models import Course
from lms.evaluation.models import LessonRating, SessionEvaluation
from lms.extensions import db
from lms.sessions.models import Lesson, TrainingSession
from lms.settings import Setting

MIN_RATINGS_SHOWN = 3  # small-n anonymity for lecturers
SHOW_NAMES_KEY = "evaluation_names"
CENT = Decimal("0.01")


# --- the setting -----------------------------------------------------------------------------


def show_names() -> bool:
    """Whether organizers see who gave which rating (评估结果对组织者显示姓名); default off."""
    setting = db.session.get(Setting, SHOW_NAMES_KEY)
    return bool(setting and setting.value.get("show_names"))


def save_show_names(value: bool) -> None:
    setting = db.session.get(Setting, SHOW_NAMES_KEY) or Setting(key=SHOW_NAMES_KEY)
    record_audit("settings.evaluation_names", "setting", SHOW_NAMES_KEY, {"show_names": value})
    setting.value = {"show_names": value}
    db.session.add(setting)
    db.session.flush()


# --- averages --------------------------------------------------------------------------------


def mean(total: int, count: int) -> Decimal | None:
    """total / count to two places (half up), from exact sums: no float on the way."""
    if not count:
        return None
    return (Decimal(total) / Decimal(count)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Averages:
    count: int
    content_total: int
    lecturer_total: int
    usefulness_total: int

    @property
    def content(self) -> Decimal | None:
        return mean(self.content_total, self.count)

    @property
    def lecturer(self) -> Decimal | None:
        return mean(self.lecturer_total, self.count)

    @property
    def usefulness(self) -> Decimal | None:
        return mean(self.usefulness_total, self.count)

    @property
    def overall(self) -> Decimal | None:
        """The mean of all three scores of all ratings."""
        total = self.content_total + self.lecturer_total + self.usefulness_total
        return mean(total, 3 * self.count)

    @property
    def shown_to_lecturer(self) -> bool:
        return self.count >= MIN_RATINGS_SHOWN

    def __add__(self, other: Averages) -> Averages:
        return Averages(
            self.count + other.count,
            self.content_total + other.content_total,
            self.lecturer_total + other.lecturer_total,
            self.usefulness_total + other.usefulness_total,
        )


@dataclass
class Row:
    """One line of a report: what it is about, its label, and its averages."""

    id: int | None
    label: str
    averages: Averages
    detail: str = ""
    session_overall: Decimal | None = None  # sessions only: the 本期总体评价 average
    evaluations: int = 0  # sessions only: how many trainees evaluated
    comments: list[str] = field(default_factory=list)


_SUMS = (
    sa.func.count(LessonRating.id),
    sa.func.coalesce(sa.func.sum(LessonRating.content), 0),
    sa.func.coalesce(sa.func.sum(LessonRating.lecturer), 0),
    sa.func.coalesce(sa.func.sum(LessonRating.usefulness), 0),
)


def _averages(row: Sequence) -> Averages:
    count, content, lecturer, usefulness = row[-4:]
    return Averages(int(count), int(content), int(lecturer), int(usefulness))


def session_rows(session_ids: Iterable[int] | None = None) -> list[Row]:
    """Per session: lesson averages, how many evaluated and the overall score's average."""
    stmt = (
        sa.select(TrainingSession.id, TrainingSession.title, *_SUMS)
        .join(Lesson, Lesson.session_id == TrainingSession.id)
        .join(LessonRating, LessonRating.lesson_id == Lesson.id)
        .group_by(TrainingSession.id, TrainingSession.title, TrainingSession.start_date)
        .order_by(TrainingSession.start_date.desc(), TrainingSession.id)
    )
    if session_ids is not None:
        stmt = stmt.where(TrainingSession.id.in_(list(session_ids)))
    overall = {
        session_id: (int(count), int(total))
        for session_id, count, total in db.session.execute(
            sa.select(
                SessionEvaluation.session_id,
                sa.func.count(SessionEvaluation.id),
                sa.func.sum(SessionEvaluation.overall),
            ).group_by(SessionEvaluation.session_id)
        )
    }
    rows = []
    for line in db.session.execute(stmt):
        count, total = overall.get(line[0], (0, 0))
        rows.append(
            Row(
                id=line[0],
                label=line[1],
                averages=_averages(line),
                session_overall=mean(total, count),
                evaluations=count,
            )
        )
    return rows


def course_rows() -> list[Row]:
    """Per course, over all its lessons."""
    stmt = (
        sa.select(Course.id, Course.code, Course.title, *_SUMS)
        .join(Lesson, Lesson.course_id == Course.id)
        .join(LessonRating, LessonRating.lesson_id == Lesson.id)
        .group_by(Course.id, Course.code, Course.title)
        .order_by(Course.code)
    )
    return [
        Row(id=line[0], label=line[2], detail=line[1], averages=_averages(line))
        for line in db.session.execute(stmt)
    ]


def lecturer_rows() -> list[Row]:
    """Per lecturer, over all the lessons they taught (lessons without one left out)."""
    stmt = (
        sa.select(User.id, User.display_name, User.username, *_SUMS)
        .join(Lesson, Lesson.lecturer_id == User.id)
        .join(LessonRating, LessonRating.lesson_id == Lesson.id)
        .group_by(User.id, User.display_name, User.username)
        .order_by(User.username)
    )
    return [
        Row(id=line[0], label=line[1] or line[2], averages=_averages(line))
        for line in db.session.execute(stmt)
    ]


def lesson_rows(*where: sa.ColumnElement[bool]) -> list[tuple[Lesson, Averages]]:
    """Per lesson matching `where` (e.g. one session's, one lecturer's), in timetable order."""
    sums = sa.select(LessonRating.lesson_id, *_SUMS).group_by(LessonRating.lesson_id).subquery()
    stmt = (
        sa.select(Lesson, *sums.c[1:])
        .join(sums, sums.c.lesson_id == Lesson.id)
        .where(*where)
        .order_by(Lesson.starts_at.desc(), Lesson.id)
    )
    return [(line[0], _averages(line)) for line in db.session.execute(stmt)]


def lesson_comments(lesson_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each lesson's non-empty comments, without names, sorted by text (not by time, which
    could say who wrote them)."""
    out: dict[int, list[str]] = {}
    for lesson_id, comment in db.session.execute(
        sa.select(LessonRating.lesson_id, LessonRating.comment)
        .where(LessonRating.lesson_id.in_(list(lesson_ids)), LessonRating.comment != "")
        .order_by(LessonRating.lesson_id, LessonRating.comment)
    ):
        out.setdefault(lesson_id, []).append(comment)
    return out


@dataclass
class LecturerReport:
    lessons: list[tuple[Lesson, Averages]]
    courses: list[Row]
    comments: dict[int, list[str]]


def lecturer_report(lecturer: User) -> LecturerReport:
    """What a lecturer may see of their own lessons: averages and anonymous comments, only
    where at least MIN_RATINGS_SHOWN ratings exist (the page hides the rest). A course's figures
    add up only its shown lessons: otherwise a course total minus the shown lessons would give
    away the ratings of a lesson with one or two."""
    lessons = lesson_rows(Lesson.lecturer_id == lecturer.id)
    courses: dict[int, Row] = {}
    for lesson, averages in sorted(lessons, key=lambda item: item[0].course.code):
        row = courses.setdefault(
            lesson.course_id,
            Row(
                id=lesson.course_id,
                label=lesson.course.title,
                detail=lesson.course.code,
                averages=Averages(0, 0, 0, 0),
            ),
        )
        if averages.shown_to_lecturer:
            row.averages = row.averages + averages
    shown = [lesson.id for lesson, averages in lessons if averages.shown_to_lecturer]
    return LecturerReport(
        lessons=lessons, courses=list(courses.values()), comments=lesson_comments(shown)
    )


@dataclass
class Comment:
    text: str
    name: str | None  # None unless names are shown
    about: str = ""  # the lesson a lesson comment is about


@dataclass
class SessionReport:
    session: TrainingSession
    lessons: list[tuple[Lesson, Averages]]
    summary: Row | None
    comments: list[Comment]
    names: bool


def session_report(session: TrainingSession) -> SessionReport:
    """The organizer's view of one session: per lesson, overall, every comment."""
    names = show_names()
    rows = session_rows([session.id])
    comments = []
    for evaluation in db.session.scalars(
        sa.select(SessionEvaluation)
        .where(SessionEvaluation.session_id == session.id, SessionEvaluation.comment != "")
        .order_by(SessionEvaluation.comment)
    ):
        comments.append(Comment(evaluation.comment, evaluation.member.name if names else None))
    for rating in db.session.scalars(
        sa.select(LessonRating)
        .join(Lesson, Lesson.id == LessonRating.lesson_id)
        .where(Lesson.session_id == session.id, LessonRating.comment != "")
        .order_by(Lesson.starts_at, LessonRating.comment)
    ):
        comments.append(
            Comment(
                rating.comment,
                rating.member.name if names else None,
                about=rating.lesson.course.title,
            )
        )
    return SessionReport(
        session=session,
        lessons=sorted(
            lesson_rows(Lesson.session_id == session.id), key=lambda item: item[0].starts_at
        ),
        summary=rows[0] if rows else None,
        comments=comments,
        names=names,
    )


def session_ratings(session: TrainingSession) -> list[LessonRating]:
    """Every rating of the session's lessons, for the export (names only if the setting)."""
    return list(
        db.session.scalars(
            sa.select(LessonRating)
            .join(Lesson, Lesson.id == LessonRating.lesson_id)
            .where(Lesson.session_id == session.id)
            .order_by(
                Lesson.starts_at,
                LessonRating.content.desc(),
                LessonRating.lecturer.desc(),
                LessonRating.usefulness.desc(),
                LessonRating.id,
            )
        )
    )


def session_evaluations(session: TrainingSession) -> list[SessionEvaluation]:
    return list(
        db.session.scalars(
            sa.select(SessionEvaluation)
            .where(SessionEvaluation.session_id == session.id)
            .order_by(SessionEvaluation.overall.desc(), SessionEvaluation.id)
        )
    )
