"""Quiz pages for organizers and the list trainees choose from: create and edit a quiz, its fixed
questions and random draws, and its status."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.access import is_organizer, load, roles_required
from lms.auth.models import Role
from lms.catalog.models import Course
from lms.database import utcnow
from lms.extensions import db
from lms.forms import ConfirmForm, bounded_int, choices, int_or_none
from lms.quizzes import access, attempts, services
from lms.quizzes.forms import DrawForm, ItemsForm, QuizForm
from lms.quizzes.models import (
    Attempt,
    Question,
    QuestionCategory,
    Quiz,
    QuizDraw,
    QuizItem,
    QuizStatus,
)
from lms.sessions.models import TrainingSession
from lms.sessions.services import enrolled_session_ids


@login_required
def index():
    manages = is_organizer(current_user)
    stmt = sa.select(Quiz).order_by(Quiz.created_at.desc())
    if not manages:
        stmt = stmt.where(Quiz.status == QuizStatus.PUBLISHED)
    member = current_user.member
    enrolled = enrolled_session_ids(member)
    quizzes = [
        q for q in db.session.scalars(stmt) if access.can_view_quiz(current_user, q, enrolled)
    ]
    mine = {}
    if member is not None:
        attempts.finish_overdue_attempts(member=member)
        mine = attempts.counting_attempts_of(member, quizzes)
    return render_template("quizzes/index.html", quizzes=quizzes, mine=mine, can_manage=manages)


def _homes() -> list[tuple[str, str]]:
    sessions = db.session.scalars(
        sa.select(TrainingSession).order_by(TrainingSession.start_date.desc()).limit(60)
    )
    courses = db.session.scalars(sa.select(Course).order_by(Course.code))
    return [
        *((f"session:{s.id}", _("期次：%(title)s", title=s.title)) for s in sessions),
        *(
            (f"course:{c.id}", _("课程：%(code)s %(title)s", code=c.code, title=c.title))
            for c in courses
        ),
    ]


def _quiz_form(quiz: Quiz | None = None) -> QuizForm:
    form = QuizForm(obj=quiz)
    form.home.choices = choices(_homes())
    if quiz is not None and request.method == "GET":
        form.home.data = (
            f"session:{quiz.session_id}" if quiz.session_id else f"course:{quiz.course_id}"
        )
    return form


def _quiz_data(form: QuizForm) -> services.QuizData:
    kind, _sep, ident = form.home.data.partition(":")
    return services.QuizData(
        title=form.title.data,
        description=form.description.data or "",
        session_id=int(ident) if kind == "session" else None,
        course_id=int(ident) if kind == "course" else None,
        time_limit_minutes=form.time_limit_minutes.data,
        opens_at=form.opens_at.data,
        closes_at=form.closes_at.data,
        max_attempts=form.max_attempts.data,
        pass_mark=form.pass_mark.data,
        counting=form.counting.data,
        feedback=form.feedback.data,
        practice=form.practice.data,
        shuffle_questions=form.shuffle_questions.data,
        shuffle_options=form.shuffle_options.data,
        partial_credit=form.partial_credit.data,
    )


@roles_required(Role.ORGANIZER)
def create_quiz():
    form = _quiz_form()
    home = request.args.get("home", "")
    if request.method == "GET" and home in {choice.value for choice in form.home.choices}:
        form.home.data = home  # e.g. from 本月工作: a quiz for this session
    if form.validate_on_submit():
        quiz = services.create_quiz(_quiz_data(form))
        flash(_("测试已创建，请添加题目。"), "success")
        return redirect(url_for("quizzes.quiz", quiz_id=quiz.id))
    return render_template("quizzes/quiz_form.html", form=form, quiz=None)


@roles_required(Role.ORGANIZER)
def edit_quiz(quiz_id: int):
    quiz = load(Quiz, quiz_id, is_organizer)
    form = _quiz_form(quiz)
    if form.validate_on_submit():
        services.update_quiz(quiz, _quiz_data(form))
        flash(_("已保存。"), "success")
        return redirect(url_for("quizzes.quiz", quiz_id=quiz.id))
    return render_template("quizzes/quiz_form.html", form=form, quiz=quiz)


def _items_forms(quiz: Quiz) -> tuple[ItemsForm, DrawForm]:
    banks = services.banks_for(current_user)
    items_form = ItemsForm(prefix="items")
    items_form.bank_id.choices = choices((b.id, b.name) for b in banks)
    draw_form = DrawForm(prefix="draw")
    # The draw's select lists one bank's categories, never every bank's: the bank chosen on the
    # page (?draw_bank=), or on a POST the bank of the category sent.
    bank_id = request.args.get("draw_bank", type=bounded_int)
    if request.method == "POST":
        sent_id = int_or_none(request.form.get(draw_form.category_id.name))
        sent = db.session.get(QuestionCategory, sent_id) if sent_id is not None else None
        bank_id = sent.bank_id if sent is not None else None
    draw_bank = next((b for b in banks if b.id == bank_id), banks[0] if banks else None)
    draw_form.draw_bank = draw_bank
    draw_form.banks = banks
    draw_form.category_id.choices = choices(
        (c.id, c.path) for c in (services.categories_of(draw_bank) if draw_bank else [])
    )
    return items_form, draw_form


@login_required
def quiz(quiz_id: int):
    quiz = load(Quiz, quiz_id, access.can_view_quiz, access.why_quiz_refused)
    manages = is_organizer(current_user)
    member = current_user.member
    mine: list[Attempt] = []
    if member is not None:
        attempts.finish_overdue_attempts(member=member, quiz=quiz)
        mine = attempts.attempts_of(quiz, member)
    items_form, draw_form = _items_forms(quiz) if manages else (None, None)
    return render_template(
        "quizzes/quiz.html",
        quiz=quiz,
        mine=mine,
        counting=attempts.counting_attempt(quiz, member) if member else None,
        problem=attempts.window_problem(quiz, utcnow()),
        can_manage=manages,
        items_form=items_form,
        draw_form=draw_form,
        confirm=ConfirmForm(),
        question_count=services.quiz_question_count(quiz),
        supplies=services.draw_supplies(quiz) if manages else {},
    )


@roles_required(Role.ORGANIZER)
def set_quiz_status(quiz_id: int):
    quiz = load(Quiz, quiz_id, is_organizer)
    target = request.args.get("to", "")
    if target not in set(QuizStatus):
        abort(400)
    if target == QuizStatus.PUBLISHED and not services.quiz_question_count(quiz):
        flash(_("测试还没有题目，不能发布。"), "warning")
    else:
        services.set_quiz_status(quiz, QuizStatus(target))
        flash(_("测试状态已更新。"), "success")
    return redirect(url_for("quizzes.quiz", quiz_id=quiz.id))


@roles_required(Role.ORGANIZER)
def add_items(quiz_id: int):
    quiz = load(Quiz, quiz_id, is_organizer)
    form, _draw = _items_forms(quiz)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "warning")
        return redirect(url_for("quizzes.quiz", quiz_id=quiz.id))
    refs = [r.strip() for r in form.refs.data.replace("，", ",").replace("\n", ",").split(",")]
    refs = [r for r in refs if r]
    found = {
        q.ref: q
        for q in db.session.scalars(
            sa.select(Question).where(
                Question.bank_id == form.bank_id.data,
                Question.ref.in_(refs),
                Question.active.is_(True),
            )
        )
    }
    missing = [r for r in refs if r not in found]
    if missing:
        flash(_("没有找到这些编号的题目：%(refs)s", refs="、".join(missing[:20])), "warning")
    else:
        for ref in refs:
            services.add_quiz_item(quiz, found[ref], form.points.data)
        flash(_("已加入 %(n)d 道固定题。", n=len(refs)), "success")
    return redirect(url_for("quizzes.quiz", quiz_id=quiz.id))


@roles_required(Role.ORGANIZER)
def delete_item(quiz_id: int, item_id: int):
    quiz = load(Quiz, quiz_id, is_organizer)
    item = load(QuizItem, item_id, is_organizer, within=quiz)
    db.session.delete(item)
    return redirect(url_for("quizzes.quiz", quiz_id=quiz_id))


@roles_required(Role.ORGANIZER)
def add_draw(quiz_id: int):
    quiz = load(Quiz, quiz_id, is_organizer)
    _items, form = _items_forms(quiz)
    if form.validate_on_submit():
        category = db.session.get(QuestionCategory, form.category_id.data)
        assert category is not None  # the form only accepts an existing category's id
        services.add_quiz_draw(
            quiz, category.bank, category, form.difficulty.data, form.count.data, form.points.data
        )
        flash(_("已加入随机抽题。"), "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "warning")
    return redirect(url_for("quizzes.quiz", quiz_id=quiz.id))


@roles_required(Role.ORGANIZER)
def delete_draw(quiz_id: int, draw_id: int):
    quiz = load(Quiz, quiz_id, is_organizer)
    draw = load(QuizDraw, draw_id, is_organizer, within=quiz)
    db.session.delete(draw)
    return redirect(url_for("quizzes.quiz", quiz_id=quiz_id))
