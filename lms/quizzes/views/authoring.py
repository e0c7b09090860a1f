"""Question authoring pages: banks, questions, and importing and exporting them."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.access import is_organizer, load, roles_required
from lms.auth.models import Role
from lms.auth.services import users_with_role
from lms.catalog.services import lecturers
from lms.excel import xlsx_response
from lms.extensions import db
from lms.files import attachment_headers
from lms.forms import ConfirmForm, bounded_int, choices
from lms.quizzes import access, attempts, services
from lms.quizzes.formats import parse_upload
from lms.quizzes.formats.gift import dump_gift
from lms.quizzes.formats.sheet import question_sheet, template_sheet
from lms.quizzes.forms import BankForm, ImportForm, QuestionForm
from lms.quizzes.models import Question, QuestionBank, QuestionCategory
from lms.quizzes.questions import QuestionType, validate_question

AUTHORS = (Role.ORGANIZER, Role.LECTURER)


# --- banks -----------------------------------------------------------------------------------


@roles_required(*AUTHORS)
def banks():
    banks = services.banks_for(current_user)
    can_manage = is_organizer(current_user)
    # A lecturer with no bank yet is told who can give them one.
    organizers = users_with_role(Role.ORGANIZER) if not banks and not can_manage else []
    return render_template(
        "quizzes/banks.html", banks=banks, can_manage=can_manage, organizers=organizers
    )


def _bank_form(bank: QuestionBank | None = None) -> BankForm:
    form = BankForm(obj=bank)
    form.author_ids.choices = choices((u.id, u.name) for u in lecturers())
    if bank is not None and request.method == "GET":
        form.author_ids.data = [u.id for u in bank.authors]
    return form


@roles_required(Role.ORGANIZER)
def create_bank():
    form = _bank_form()
    if form.validate_on_submit():
        bank = services.create_bank(
            form.name.data, form.description.data or "", form.author_ids.data or []
        )
        return redirect(url_for("quizzes.bank", bank_id=bank.id))
    return render_template("quizzes/bank_form.html", form=form, bank=None)


@roles_required(Role.ORGANIZER)
def edit_bank(bank_id: int):
    bank = load(QuestionBank, bank_id, is_organizer)
    form = _bank_form(bank)
    if form.validate_on_submit():
        services.update_bank(
            bank, form.name.data, form.description.data or "", form.author_ids.data or []
        )
        flash(_("已保存。"), "success")
        return redirect(url_for("quizzes.bank", bank_id=bank.id))
    return render_template("quizzes/bank_form.html", form=form, bank=bank)


@login_required
def bank(bank_id: int):
    bank = load(QuestionBank, bank_id, access.can_author_bank)
    category = None
    if category_id := request.args.get("category", type=bounded_int):
        category = db.session.get(QuestionCategory, category_id)
        if category is None or category.bank_id != bank.id:
            abort(404)
    page = db.paginate(
        services.questions_of(bank, category),
        page=request.args.get("page", 1, type=bounded_int),
        per_page=50,
        error_out=False,
    )
    return render_template(
        "quizzes/bank.html",
        bank=bank,
        page=page,
        category=category,
        categories=services.categories_of(bank),
        question_types=list(QuestionType),
    )


# --- questions -------------------------------------------------------------------------------


def _question_type() -> QuestionType:
    value = request.args.get("type", "single")
    if value not in set(QuestionType):
        abort(404)
    return QuestionType(value)


def _save_question_form(bank: QuestionBank, qtype: QuestionType, question: Question | None):
    form = QuestionForm()
    problems: list[str] = []
    if request.method == "GET":
        if question is not None:
            form.load(
                question.current.data(
                    category=question.category.path if question.category else "",
                    ref=question.ref or "",
                    exclusive_group=question.exclusive_group or "",
                )
            )
        elif category_id := request.args.get("category", type=bounded_int):
            category = db.session.get(QuestionCategory, category_id)
            form.category.data = category.path if category and category.bank_id == bank.id else ""
    if form.validate_on_submit():
        data = form.question(qtype)
        problems = validate_question(data)
        if data.ref:
            same_ref = db.session.scalar(
                sa.select(Question).where(Question.bank_id == bank.id, Question.ref == data.ref)
            )
            if same_ref is not None and same_ref is not question:
                problems.append(_("编号 %(ref)s 已被本题库的其他题目使用。", ref=data.ref))
        if not problems:
            saved, outcome = services.save_question(bank, data, current_user, question)
            if outcome == "unchanged":
                flash(_("内容没有变化。"), "info")
            elif question is not None and saved.current.number > 1:
                flash(_("已保存为第 %(n)d 版。", n=saved.current.number), "success")
            else:
                flash(_("已保存。"), "success")
            return redirect(url_for("quizzes.preview_question", question_id=saved.id))
    return render_template(
        "quizzes/question_form.html",
        form=form,
        bank=bank,
        question=question,
        qtype=qtype,
        problems=problems,
        categories=services.categories_of(bank),
    )


@login_required
def create_question(bank_id: int):
    bank = load(QuestionBank, bank_id, access.can_author_bank)
    return _save_question_form(bank, _question_type(), None)


@login_required
def edit_question(question_id: int):
    question = load(Question, question_id, access.can_author_question)
    return _save_question_form(question.bank, question.current.type, question)


@login_required
def preview_question(question_id: int):
    question = load(Question, question_id, access.can_author_question)
    return render_template(
        "quizzes/question.html",
        question=question,
        version=question.current,
        order=list(range(len(question.current.options))),
        confirm=ConfirmForm(),
        can_regrade=is_organizer(current_user),
    )


@login_required
def archive_question(question_id: int):
    question = load(Question, question_id, access.can_author_question)
    services.archive_question(question)
    flash(_("已停用该题目；已作答的记录不受影响。"), "success")
    return redirect(url_for("quizzes.bank", bank_id=question.bank_id))


@roles_required(Role.ORGANIZER)
def regrade_question(question_id: int):
    question = load(Question, question_id, is_organizer)
    count = attempts.regrade_question(question)
    flash(_("已按当前答案重新评分 %(n)d 份作答。", n=count), "success")
    return redirect(url_for("quizzes.preview_question", question_id=question.id))


# --- import and export -----------------------------------------------------------------------


@login_required
def import_questions(bank_id: int):
    bank = load(QuestionBank, bank_id, access.can_author_bank)
    form = ImportForm()
    errors: list[str] = []
    summary = None
    if form.validate_on_submit():
        parsed = parse_upload(form.format.data, form.file.data.stream)
        errors = parsed.errors
        if not errors:
            summary = services.import_questions(bank, parsed.questions, current_user)
    return render_template(
        "quizzes/import.html", form=form, bank=bank, errors=errors, summary=summary
    )


@login_required
def export_xlsx(bank_id: int):
    bank = load(QuestionBank, bank_id, access.can_author_bank)
    data = question_sheet(services.export_questions(bank))
    return xlsx_response(f"{bank.name}.xlsx", data, f"bank-{bank.id}")


@login_required
def export_gift(bank_id: int):
    bank = load(QuestionBank, bank_id, access.can_author_bank)
    text = dump_gift(services.export_questions(bank))
    return Response(
        text.encode("utf-8"),
        mimetype="text/plain",
        headers=attachment_headers(f"{bank.name}.gift.txt", f"bank-{bank.id}"),
    )


@roles_required(*AUTHORS)
def import_template():
    return xlsx_response("题目导入模板.xlsx", template_sheet(), "question-template")
