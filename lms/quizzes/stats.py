"""Quiz statistics: score distribution, pass rate, and per question the facility index, the
discrimination index (upper 27% minus lower 27%) and how often each option was chosen."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy.orm import selectinload

from lms.excel import build_workbook
from lms.extensions import db
from lms.quizzes.attempts import choose_counting
from lms.quizzes.models import (
    Attempt,
    AttemptQuestion,
    AttemptStatus,
    QuestionVersion,
    Quiz,
)
from lms.quizzes.questions import CHOICE_TYPES, LETTERS, QuestionType

BINS = 10
GROUP_SHARE = Decimal("0.27")


@dataclass
class QuestionStats:
    question_id: int
    version: QuestionVersion  # the latest version seen, for the stem and options
    answers: int = 0
    facility: Decimal | None = None
    discrimination: Decimal | None = None
    option_counts: Counter = field(default_factory=Counter)
    unanswered: int = 0


@dataclass
class QuizReport:
    attempts: list[Attempt]
    bins: list[int]
    mean: Decimal | None
    pass_rate: Decimal | None
    questions: list[QuestionStats]


def counting_attempts(quiz: Quiz) -> list[Attempt]:
    """One attempt per member — the one that counts — among finished, graded attempts."""
    if quiz.practice:
        return []
    finished = db.session.scalars(
        sa.select(Attempt)
        .where(
            Attempt.quiz_id == quiz.id,
            Attempt.status != AttemptStatus.IN_PROGRESS,
            Attempt.score.is_not(None),
        )
        .options(
            selectinload(Attempt.member),
            selectinload(Attempt.questions).selectinload(AttemptQuestion.version),
        )
        .order_by(Attempt.member_id, Attempt.number)
    ).all()
    by_member: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in finished:
        by_member[attempt.member_id].append(attempt)
    counting = (choose_counting(quiz, member_attempts) for member_attempts in by_member.values())
    return [attempt for attempt in counting if attempt is not None]  # None only for practice


def _fraction(item: AttemptQuestion) -> Decimal:
    return (item.awarded or Decimal(0)) / item.points if item.points else Decimal(0)


def _facility(items: list[AttemptQuestion]) -> Decimal | None:
    if not items:
        return None
    return (sum((_fraction(i) for i in items), Decimal(0)) / len(items)).quantize(Decimal("0.01"))


def quiz_report(quiz: Quiz) -> QuizReport:
    chosen = sorted(counting_attempts(quiz), key=lambda a: a.percent or Decimal(0))
    bins = [0] * BINS
    for attempt in chosen:
        percent = attempt.percent or Decimal(0)
        bins[min(int(percent // (100 // BINS)), BINS - 1)] += 1
    n = len(chosen)
    group = max(1, int(n * GROUP_SHARE)) if n >= 2 else 0
    lower = {a.id for a in chosen[:group]}
    upper = {a.id for a in chosen[n - group :]} if group else set()

    per_question: dict[int, list[AttemptQuestion]] = defaultdict(list)
    for attempt in chosen:
        for item in attempt.questions:
            per_question[item.version.question_id].append(item)
    questions = []
    for question_id, items in per_question.items():
        latest = max((i.version for i in items), key=lambda v: v.number)
        entry = QuestionStats(question_id=question_id, version=latest, answers=len(items))
        entry.facility = _facility(items)
        if group:
            high = _facility([i for i in items if i.attempt_id in upper])
            low = _facility([i for i in items if i.attempt_id in lower])
            if high is not None and low is not None:
                entry.discrimination = high - low
        for item in items:
            if item.response is None:
                entry.unanswered += 1
            elif latest.type in CHOICE_TYPES and item.version_id == latest.id:
                entry.option_counts.update(item.response.get("choices", []))
        questions.append(entry)
    questions.sort(key=lambda q: q.facility if q.facility is not None else Decimal(2))
    mean = (
        (sum((a.percent or Decimal(0) for a in chosen), Decimal(0)) / n).quantize(Decimal("0.1"))
        if n
        else None
    )
    pass_rate = (
        (Decimal(sum(bool(a.passed) for a in chosen) * 100) / n).quantize(Decimal("0.1"))
        if n
        else None
    )
    return QuizReport(
        attempts=chosen, bins=bins, mean=mean, pass_rate=pass_rate, questions=questions
    )


def option_labels(version: QuestionVersion) -> list[str]:
    if version.type is QuestionType.TRUE_FALSE:
        return [_("正确"), _("错误")]
    return [LETTERS[i] for i in range(len(version.options))]


def histogram_svg(report: QuizReport) -> Markup:
    """A bar chart of the score distribution, drawn here: no script, no outside service."""
    width, height, left, bottom, top = 640, 240, 36, 28, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max(report.bins) or 1
    bar_w = plot_w / BINS
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" class="score-chart" aria-label="{escape(_("成绩分布"))}">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" '
        'stroke="#888"/>',
    ]
    for i, count in enumerate(report.bins):
        h = plot_h * count / peak
        x = left + i * bar_w + 3
        y = top + plot_h - h
        label = f"{i * 10}–{i * 10 + 9}" if i < BINS - 1 else "90–100"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 6:.1f}" height="{h:.1f}" '
            'fill="#a4161a">'
            f"<title>{escape(label)}: {count}</title></rect>"
        )
        if count:
            parts.append(
                f'<text x="{x + (bar_w - 6) / 2:.1f}" y="{y - 3:.1f}" font-size="11" '
                f'text-anchor="middle">{count}</text>'
            )
        parts.append(
            f'<text x="{x + (bar_w - 6) / 2:.1f}" y="{height - 10}" font-size="10" '
            f'text-anchor="middle" fill="#555">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text above is escaped)


def report_workbook(quiz: Quiz, report: QuizReport) -> bytes:
    results = (
        [
            a.member.staff_no,
            a.member.name,
            a.number,
            float(a.score or 0),
            float(a.max_score),
            float(a.percent or 0),
            _("是") if a.passed else _("否"),
            a.finished_at or "",
        ]
        for a in report.attempts
    )
    questions = (
        [
            q.question_id,
            q.version.question.ref or "",
            q.version.stem,
            q.answers,
            float(q.facility) if q.facility is not None else "",
            float(q.discrimination) if q.discrimination is not None else "",
            q.unanswered,
            "；".join(
                f"{label}: {q.option_counts.get(i, 0)}"
                for i, label in enumerate(option_labels(q.version))
            )
            if q.version.type in CHOICE_TYPES
            else "",
        ]
        for q in report.questions
    )
    return build_workbook(
        [
            (
                _("成绩"),
                [
                    _("工号"),
                    _("姓名"),
                    _("第几次"),
                    _("得分"),
                    _("满分"),
                    _("百分比"),
                    _("及格"),
                    _("交卷时间"),
                ],
                results,
            ),
            (
                _("题目分析"),
                [
                    _("题目ID"),
                    _("编号"),
                    _("题干"),
                    _("作答人数"),
                    _("难度指数"),
                    _("区分度"),
                    _("未作答"),
                    _("各选项人数"),
                ],
                questions,
            ),
        ]
    )
