"""Quiz statistics: the report page and its Excel export."""

from __future__ import annotations

from flask import render_template

from lms.access import load, roles_required
from lms.auth.models import Role
from lms.excel import xlsx_response
from lms.quizzes import attempts, services, stats
from lms.quizzes.models import Quiz


@roles_required(Role.ORGANIZER)
def quiz_stats(quiz_id: int):
    quiz = load(Quiz, quiz_id, lambda user, quiz: services.manages_quizzes(user))
    attempts.finish_overdue_attempts(quiz=quiz)
    report = stats.quiz_report(quiz)
    return render_template(
        "quizzes/stats.html", quiz=quiz, report=report, chart=stats.histogram_svg(report)
    )


@roles_required(Role.ORGANIZER)
def quiz_stats_xlsx(quiz_id: int):
    quiz = load(Quiz, quiz_id, lambda user, quiz: services.manages_quizzes(user))
    return xlsx_response(
        f"{quiz.title}-统计.xlsx",
        stats.report_workbook(quiz, stats.quiz_report(quiz)),
        f"quiz-{quiz.id}-stats",
    )
