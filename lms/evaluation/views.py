"""Training evaluation pages: the trainee's form, the lecturer's own averages, the organizers'
reports with charts and Excel exports, and the admin's names setting."""

from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.access import is_organizer, load, roles_required
from lms.auth.models import Role
from lms.charts import average_bars
from lms.evaluation import access, results, services
from lms.evaluation.forms import NamesSettingForm, evaluation_form
from lms.evaluation.services import Aspect
from lms.excel import build_workbook, xlsx_response
from lms.sessions.models import TrainingSession
from lms.transaction import atomic

bp = Blueprint("evaluation", __name__, url_prefix="/evaluation")

_LESSON_FIELD = re.compile(r"^l(\d+)_")


@bp.app_template_global()
def pending_evaluations() -> list[TrainingSession]:
    """For the home page's 待评估 prompt: sessions the signed-in trainee may still evaluate."""
    member = getattr(current_user, "member", None)
    return services.pending_sessions(member) if member is not None else []


@bp.app_template_global()
def evaluation_pending(session: TrainingSession) -> bool:
    """For the session page: the signed-in trainee may evaluate it and has not yet."""
    member = getattr(current_user, "member", None)
    return (
        member is not None
        and services.refusal(session, member) is None
        and services.submitted(session, member) is None
    )


# --- the trainee -----------------------------------------------------------------------------


@bp.route("/sessions/<int:session_id>", methods=["GET", "POST"])
@login_required
def evaluate(session_id: int):
    session = load(TrainingSession, session_id, access.can_evaluate, access.why_not_evaluate)
    member = current_user.member
    lessons = services.attended_lessons(session, member)
    done = services.submitted(session, member)
    if done is not None:
        if request.method == "POST":
            flash(_("您已提交过本期评估，评估提交后不能修改。"), "warning")
        return render_template(
            "evaluation/done.html", session=session, evaluation=done, lessons=lessons
        )
    form = evaluation_form(lessons)
    problem = None
    if form.validate_on_submit():
        known = {lesson.id for lesson in lessons}
        stray = {
            int(match.group(1)) for name in request.form if (match := _LESSON_FIELD.match(name))
        } - known
        if stray:
            problem = _("表单中有不属于您本期所参加课次的评分，未保存，请重新填写。")
        else:
            assert form.overall.data is not None  # ScoreField refuses anything but 1 to 5
            try:
                with atomic():
                    services.submit_evaluation(
                        session, member, form.lesson_scores(), form.overall.data, form.comment.data
                    )
            except services.EvaluationError as exc:
                problem = exc.message
            else:
                flash(_("感谢您的评估！"), "success")
                return redirect(url_for("evaluation.evaluate", session_id=session.id))
    elif form.is_submitted():
        problem = _("评估未保存：请检查下面标出的项目。")
    return render_template(
        "evaluation/form.html",
        session=session,
        lessons=lessons,
        form=form,
        problem=problem,
        aspects=list(Aspect),
    )


# --- the lecturer ----------------------------------------------------------------------------


@bp.route("/mine")
@roles_required(Role.LECTURER)
def mine():
    report = results.lecturer_report(current_user)
    shown = [
        (lesson.course.title, averages.overall)
        for lesson, averages in report.lessons
        if averages.shown_to_lecturer
    ]
    return render_template(
        "evaluation/mine.html",
        report=report,
        minimum=results.MIN_RATINGS_SHOWN,
        chart=average_bars(shown, _("各课次综合平均分")) if shown else None,
    )


# --- organizers ------------------------------------------------------------------------------


def _chart(rows: list[results.Row], title: str):
    if not rows:
        return None
    return average_bars([(row.label, row.averages.overall) for row in rows], title)


@bp.route("/")
@roles_required(Role.ORGANIZER)
def report():
    sessions = results.session_rows()
    courses = results.course_rows()
    lecturers = results.lecturer_rows()
    return render_template(
        "evaluation/report.html",
        sessions=sessions,
        courses=courses,
        lecturers=lecturers,
        charts={
            "sessions": _chart(sessions, _("各期次综合平均分")),
            "courses": _chart(courses, _("各课程综合平均分")),
            "lecturers": _chart(lecturers, _("各讲师综合平均分")),
        },
        names=results.show_names(),
    )


def _average_columns() -> list[str]:
    return [
        _("评分份数"),
        _("内容平均分"),
        _("讲师平均分"),
        _("实用性平均分"),
        _("综合平均分"),
    ]


def _average_cells(averages: results.Averages) -> list[object]:
    return [
        averages.count,
        averages.content,
        averages.lecturer,
        averages.usefulness,
        averages.overall,
    ]


@bp.route("/report.xlsx")
@roles_required(Role.ORGANIZER)
def report_xlsx():
    sessions = [
        [row.label, *_average_cells(row.averages), row.evaluations, row.session_overall]
        for row in results.session_rows()
    ]
    courses = [
        [row.detail, row.label, *_average_cells(row.averages)] for row in results.course_rows()
    ]
    lecturers = [[row.label, *_average_cells(row.averages)] for row in results.lecturer_rows()]
    data = build_workbook(
        [
            (
                _("期次"),
                [_("期次"), *_average_columns(), _("评估人数"), _("总体评价平均分")],
                sessions,
            ),
            (_("课程"), [_("课程编号"), _("课程"), *_average_columns()], courses),
            (_("讲师"), [_("讲师"), *_average_columns()], lecturers),
        ]
    )
    return xlsx_response(_("教学评估汇总.xlsx"), data, stem="evaluation-summary")


@bp.route("/sessions/<int:session_id>/report")
@roles_required(Role.ORGANIZER)
def session_report(session_id: int):
    session = load(TrainingSession, session_id, is_organizer)
    result = results.session_report(session)
    bars = [(f"{lesson.course.title}", averages.overall) for lesson, averages in result.lessons]
    return render_template(
        "evaluation/session_report.html",
        report=result,
        session=session,
        chart=average_bars(bars, _("各课次综合平均分")) if bars else None,
    )


@bp.route("/sessions/<int:session_id>/report.xlsx")
@roles_required(Role.ORGANIZER)
def session_report_xlsx(session_id: int):
    session = load(TrainingSession, session_id, is_organizer)
    names = results.show_names()
    who = [_("学员")] if names else []
    ratings = [
        [
            *([rating.member.name] if names else []),
            rating.lesson.local_start.strftime("%Y-%m-%d %H:%M"),
            rating.lesson.course.title,
            rating.lesson.lecturer.name if rating.lesson.lecturer else "",
            rating.content,
            rating.lecturer,
            rating.usefulness,
            rating.comment,
        ]
        for rating in results.session_ratings(session)
    ]
    overall = [
        [*([item.member.name] if names else []), item.overall, item.comment]
        for item in results.session_evaluations(session)
    ]
    data = build_workbook(
        [
            (
                _("课次评分"),
                [
                    *who,
                    _("时间"),
                    _("课程"),
                    _("讲师"),
                    *(aspect.label for aspect in Aspect),
                    _("意见"),
                ],
                ratings,
            ),
            (_("总体评价"), [*who, _("总体评价"), _("意见和建议")], overall),
        ]
    )
    return xlsx_response(
        _("%(title)s教学评估.xlsx", title=session.title),
        data,
        stem=f"evaluation-session-{session.id}",
    )


# --- admin -----------------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def settings():
    # Only a GET shows the stored value: a POST of an unticked box sends no field at all.
    current = {} if request.method == "POST" else {"show_names": results.show_names()}
    form = NamesSettingForm(data=current)
    if form.validate_on_submit():
        results.save_show_names(bool(form.show_names.data))
        flash(_("评估设置已保存。"), "success")
        return redirect(url_for("evaluation.settings"))
    return render_template("evaluation/settings.html", form=form)
