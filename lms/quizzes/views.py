"""Quiz pages: banks and questions, import/export, quizzes, taking a quiz, review, wrong-answer
book and statistics."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.access import authorize, load, roles_required, session_login_required
from lms.auth.models import Role
from lms.auth.services import AccountRefused, SessionAccount, users_with_role
from lms.catalog.models import Course
from lms.catalog.services import lecturers
from lms.clock import local_zone, to_local
from lms.database import utcnow
from lms.excel import xlsx_response
from lms.extensions import db, limiter
from lms.files import attachment_headers
from lms.forms import bounded_int, choices, int_or_none
from lms.org.forms import ConfirmForm
from lms.quizzes import attempts, formats, services, stats
from lms.quizzes.forms import BankForm, DrawForm, ImportForm, ItemsForm, QuestionForm, QuizForm
from lms.quizzes.models import (
    Attempt,
    CountingRule,
    Feedback,
    Question,
    QuestionBank,
    QuestionCategory,
    Quiz,
    QuizDraw,
    QuizItem,
    QuizStatus,
)
from lms.quizzes.questions import QUESTION_TYPE_LABELS, QuestionType, validate_question
from lms.sessions.models import TrainingSession
from lms.sessions.services import enrolled_session_ids
from lms.transaction import keep_changes

bp = Blueprint("quizzes", __name__, url_prefix="/quizzes")

AUTHORS = (Role.ORGANIZER, Role.LECTURER)


def _refuse(refused: attempts.AttemptRefused):
    """An answer or start the rules do not allow: a message, never a 500. What was changed on
    the way stays (overdue attempts found and finished)."""
    keep_changes()
    if request.is_json:
        return jsonify(ok=False, message=refused.message), refused.status
    flash(refused.message, "warning")
    return None


# --- banks -----------------------------------------------------------------------------------


@bp.route("/banks/")
@roles_required(*AUTHORS)
def banks():
    banks = services.banks_for(current_user)
    can_manage = services.manages_quizzes(current_user)
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


@bp.route("/banks/new", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER)
def create_bank():
    form = _bank_form()
    if form.validate_on_submit():
        if services.bank_by_name(form.name.data):
            form.name.errors.append(_("该题库已存在。"))
        else:
            bank = services.create_bank(
                form.name.data, form.description.data or "", form.author_ids.data or []
            )
            return redirect(url_for("quizzes.bank", bank_id=bank.id))
    return render_template("quizzes/bank_form.html", form=form, bank=None)


@bp.route("/banks/<int:bank_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER)
def edit_bank(bank_id: int):
    bank = load(QuestionBank, bank_id, lambda user, bank: services.manages_quizzes(user))
    form = _bank_form(bank)
    if form.validate_on_submit():
        other = services.bank_by_name(form.name.data)
        if other is not None and other.id != bank.id:
            form.name.errors.append(_("该题库已存在。"))
        else:
            services.update_bank(
                bank, form.name.data, form.description.data or "", form.author_ids.data or []
            )
            flash(_("已保存。"), "success")
            return redirect(url_for("quizzes.bank", bank_id=bank.id))
    return render_template("quizzes/bank_form.html", form=form, bank=bank)


@bp.route("/banks/<int:bank_id>")
@login_required
def bank(bank_id: int):
    bank = load(QuestionBank, bank_id, services.can_author_bank)
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
        types=QUESTION_TYPE_LABELS,
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
        types=QUESTION_TYPE_LABELS,
        problems=problems,
        categories=services.categories_of(bank),
    )


@bp.route("/banks/<int:bank_id>/questions/new", methods=["GET", "POST"])
@login_required
def create_question(bank_id: int):
    bank = load(QuestionBank, bank_id, services.can_author_bank)
    return _save_question_form(bank, _question_type(), None)


@bp.route("/questions/<int:question_id>/edit", methods=["GET", "POST"])
@login_required
def edit_question(question_id: int):
    question = load(Question, question_id, services.can_author_question)
    return _save_question_form(question.bank, question.current.type, question)


@bp.route("/questions/<int:question_id>")
@login_required
def preview_question(question_id: int):
    question = load(Question, question_id, services.can_author_question)
    return render_template(
        "quizzes/question.html",
        question=question,
        version=question.current,
        order=list(range(len(question.current.options))),
        types=QUESTION_TYPE_LABELS,
        confirm=ConfirmForm(),
        can_regrade=services.manages_quizzes(current_user),
    )


@bp.route("/questions/<int:question_id>/archive", methods=["POST"])
@login_required
def archive_question(question_id: int):
    question = load(Question, question_id, services.can_author_question)
    services.archive_question(question)
    flash(_("已停用该题目；已作答的记录不受影响。"), "success")
    return redirect(url_for("quizzes.bank", bank_id=question.bank_id))


@bp.route("/questions/<int:question_id>/regrade", methods=["POST"])
@roles_required(Role.ORGANIZER)
def regrade_question(question_id: int):
    question = load(Question, question_id, lambda user, q: services.manages_quizzes(user))
    count = attempts.regrade_question(question)
    flash(_("已按当前答案重新评分 %(n)d 份作答。", n=count), "success")
    return redirect(url_for("quizzes.preview_question", question_id=question.id))


# --- import and export -----------------------------------------------------------------------


def parse_upload(kind: str, stream) -> formats.ParseResult:
    if kind == "xlsx":
        return formats.read_question_sheet(stream)
    data = stream.read()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return formats.ParseResult(
            questions=[], errors=[_("文件不是 UTF-8 或 GB18030 编码的文本。")]
        )
    return formats.parse_gift(text) if kind == "gift" else formats.parse_aiken(text)


@bp.route("/banks/<int:bank_id>/import", methods=["GET", "POST"])
@login_required
def import_questions(bank_id: int):
    bank = load(QuestionBank, bank_id, services.can_author_bank)
    form = ImportForm()
    errors: list[str] = []
    summary = None
    if form.validate_on_submit():
        upload = form.file.data
        if not upload or not upload.filename:
            form.file.errors.append(_("请选择要导入的文件。"))
        else:
            parsed = parse_upload(form.format.data, upload.stream)
            errors = parsed.errors
            if not errors:
                summary = services.import_questions(bank, parsed.questions, current_user)
    return render_template(
        "quizzes/import.html", form=form, bank=bank, errors=errors, summary=summary
    )


@bp.route("/banks/<int:bank_id>/export.xlsx")
@login_required
def export_xlsx(bank_id: int):
    bank = load(QuestionBank, bank_id, services.can_author_bank)
    data = formats.question_sheet(services.export_questions(bank))
    return xlsx_response(f"{bank.name}.xlsx", data, f"bank-{bank.id}")


@bp.route("/banks/<int:bank_id>/export.gift")
@login_required
def export_gift(bank_id: int):
    bank = load(QuestionBank, bank_id, services.can_author_bank)
    text = formats.dump_gift(services.export_questions(bank))
    return Response(
        text.encode("utf-8"),
        mimetype="text/plain",
        headers=attachment_headers(f"{bank.name}.gift.txt", f"bank-{bank.id}"),
    )


@bp.route("/import-template.xlsx")
@roles_required(*AUTHORS)
def import_template():
    return xlsx_response("题目导入模板.xlsx", formats.template_sheet(), "question-template")


# --- quizzes ---------------------------------------------------------------------------------


@bp.route("/")
@login_required
def index():
    manages = services.manages_quizzes(current_user)
    stmt = sa.select(Quiz).order_by(Quiz.created_at.desc())
    if not manages:
        stmt = stmt.where(Quiz.status == QuizStatus.PUBLISHED)
    member = current_user.member
    enrolled = enrolled_session_ids(member)
    quizzes = [
        q for q in db.session.scalars(stmt) if attempts.can_view_quiz(current_user, q, enrolled)
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


def _to_utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=local_zone()).astimezone(UTC) if value else None


def _quiz_form(quiz: Quiz | None = None) -> QuizForm:
    form = QuizForm(obj=quiz)
    form.home.choices = choices(_homes())
    if quiz is not None and request.method == "GET":
        form.home.data = (
            f"session:{quiz.session_id}" if quiz.session_id else f"course:{quiz.course_id}"
        )
        form.counting.data = quiz.counting.value
        form.feedback.data = quiz.feedback.value
        zone = local_zone()
        form.opens_at.data = (
            quiz.opens_at.astimezone(zone).replace(tzinfo=None) if quiz.opens_at else None
        )
        form.closes_at.data = (
            quiz.closes_at.astimezone(zone).replace(tzinfo=None) if quiz.closes_at else None
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
        opens_at=_to_utc(form.opens_at.data),
        closes_at=_to_utc(form.closes_at.data),
        max_attempts=form.max_attempts.data,
        pass_mark=form.pass_mark.data,
        counting=CountingRule(form.counting.data),
        feedback=Feedback(form.feedback.data),
        practice=form.practice.data,
        shuffle_questions=form.shuffle_questions.data,
        shuffle_options=form.shuffle_options.data,
        partial_credit=form.partial_credit.data,
    )


@bp.route("/new", methods=["GET", "POST"])
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


@bp.route("/<int:quiz_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER)
def edit_quiz(quiz_id: int):
    quiz = load(Quiz, quiz_id, lambda user, quiz: services.manages_quizzes(user))
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


@bp.route("/<int:quiz_id>")
@login_required
def quiz(quiz_id: int):
    quiz = load(Quiz, quiz_id, attempts.can_view_quiz, attempts.why_quiz_refused)
    manages = services.manages_quizzes(current_user)
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
        types=QUESTION_TYPE_LABELS,
    )


@bp.route("/<int:quiz_id>/status", methods=["POST"])
@roles_required(Role.ORGANIZER)
def set_quiz_status(quiz_id: int):
    quiz = load(Quiz, quiz_id, lambda user, quiz: services.manages_quizzes(user))
    target = request.args.get("to", "")
    if target not in set(QuizStatus):
        abort(400)
    if target == QuizStatus.PUBLISHED and not services.quiz_question_count(quiz):
        flash(_("测试还没有题目，不能发布。"), "warning")
    else:
        services.set_quiz_status(quiz, QuizStatus(target))
        flash(_("测试状态已更新。"), "success")
    return redirect(url_for("quizzes.quiz", quiz_id=quiz.id))


@bp.route("/<int:quiz_id>/items", methods=["POST"])
@roles_required(Role.ORGANIZER)
def add_items(quiz_id: int):
    quiz = load(Quiz, quiz_id, lambda user, quiz: services.manages_quizzes(user))
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


@bp.route("/<int:quiz_id>/items/<int:item_id>/delete", methods=["POST"])
@roles_required(Role.ORGANIZER)
def delete_item(quiz_id: int, item_id: int):
    item = load(QuizItem, item_id, lambda user, item: item.quiz_id == quiz_id)
    db.session.delete(item)
    return redirect(url_for("quizzes.quiz", quiz_id=quiz_id))


@bp.route("/<int:quiz_id>/draws", methods=["POST"])
@roles_required(Role.ORGANIZER)
def add_draw(quiz_id: int):
    quiz = load(Quiz, quiz_id, lambda user, quiz: services.manages_quizzes(user))
    _items, form = _items_forms(quiz)
    if form.validate_on_submit():
        category = db.session.get(QuestionCategory, form.category_id.data)
        services.add_quiz_draw(
            quiz, category.bank, category, form.difficulty.data, form.count.data, form.points.data
        )
        flash(_("已加入随机抽题。"), "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "warning")
    return redirect(url_for("quizzes.quiz", quiz_id=quiz.id))


@bp.route("/<int:quiz_id>/draws/<int:draw_id>/delete", methods=["POST"])
@roles_required(Role.ORGANIZER)
def delete_draw(quiz_id: int, draw_id: int):
    draw = load(QuizDraw, draw_id, lambda user, draw: draw.quiz_id == quiz_id)
    db.session.delete(draw)
    return redirect(url_for("quizzes.quiz", quiz_id=quiz_id))


# --- taking a quiz ---------------------------------------------------------------------------


@bp.route("/<int:quiz_id>/start", methods=["POST"])
@login_required
def start(quiz_id: int):
    quiz = load(Quiz, quiz_id, attempts.can_view_quiz, attempts.why_quiz_refused)
    if current_user.member is None:
        abort(403)
    try:
        attempt = attempts.start_attempt(quiz, current_user.member)
    except attempts.AttemptRefused as refused:
        _refuse(refused)
        return redirect(url_for("quizzes.quiz", quiz_id=quiz.id))
    attempt_id = attempt.id  # read before the commit expires it: no reload just for the id
    return redirect(url_for("quizzes.take", attempt_id=attempt_id))


def _own_attempt(attempt_id: int) -> Attempt:
    return load(Attempt, attempt_id, attempts.owns_attempt)


@bp.route("/attempts/<int:attempt_id>")
@login_required
def take(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    if not attempt.finished and attempt.deadline is not None and utcnow() > attempt.deadline:
        attempts.finish_attempt(attempt, attempts.AttemptStatus.TIMED_OUT)
    if attempt.finished:
        return redirect(url_for("quizzes.result", attempt_id=attempt.id))
    position = request.args.get("q", 1, type=bounded_int)
    items = attempt.questions
    item = next((i for i in items if i.position == position), None)
    if item is None:
        abort(404)
    return render_template(
        "quizzes/take.html",
        attempt=attempt,
        item=item,
        items=items,
        now=utcnow(),
        confirm=ConfirmForm(),
        types=QUESTION_TYPE_LABELS,
        # the message with its placeholder, for the script to count live as answers are saved
        unanswered_message=_("还有 %(n)d 题未作答。"),
    )


def _form_response(item) -> dict | None:
    """The answer from a plain form post (no JavaScript)."""
    version = item.version
    if version.type is QuestionType.FILL_BLANK:
        return {"blanks": request.form.getlist("blank")}
    try:
        return {"choices": [int(v) for v in request.form.getlist("choice")]}
    except ValueError:
        raise attempts.AttemptRefused(_("答案的格式不正确。")) from None


@bp.route("/attempts/<int:attempt_id>/q/<int:position>", methods=["POST"])
@login_required
def answer_and_go(attempt_id: int, position: int):
    """Without JavaScript every navigation saves the question on screen."""
    attempt = _own_attempt(attempt_id)
    go = request.form.get("go", "next")
    if not attempt.finished:
        item = next((i for i in attempt.questions if i.position == position), None)
        if item is None:
            abort(404)
        try:
            attempts.save_answer(attempt, position, _form_response(item))
        except attempts.AttemptRefused as refused:
            _refuse(refused)
            if attempt.finished:
                return redirect(url_for("quizzes.result", attempt_id=attempt.id))
            return redirect(url_for("quizzes.take", attempt_id=attempt.id, q=position))
    if go == "submit":
        return redirect(url_for("quizzes.take", attempt_id=attempt.id, q=position, confirm=1))
    target = (
        position + 1
        if go == "next"
        else position - 1
        if go == "prev"
        else int(go)
        if go.isdigit()
        else position
    )
    target = min(max(target, 1), len(attempt.questions))
    return redirect(url_for("quizzes.take", attempt_id=attempt.id, q=target))


@bp.route("/attempts/<int:attempt_id>/answer", methods=["POST"])
@limiter.exempt  # bounded by the attempt itself: one row a question, seq-ordered, size-checked
@session_login_required
def autosave(attempt_id: int, account: SessionAccount):
    """JSON autosave: {"position": n, "response": {...} or null, "seq": n}. The busiest request
    of an exam: the service loads, checks and locks the attempt and checks the session's account
    in one statement, so the account is never loaded as a whole."""
    try:
        payload = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes: not an answer either
        payload = None
    if not isinstance(payload, dict):
        payload = {}  # the attempt is still checked first: a stranger learns nothing
    try:
        saved = attempts.save_answer(
            attempt_id,
            payload.get("position"),
            payload.get("response"),
            payload.get("seq"),
            account=account,
        )
    except AccountRefused as refused:
        if refused.signed_out:
            return current_app.login_manager.unauthorized()
        return jsonify(ok=False, message=_("请先修改密码，然后再作答。")), 403
    except attempts.AttemptRefused as refused:
        if refused.access:
            abort(refused.status)
        keep_changes()  # a deadline that passed finishes the attempt, and that stays
        finished = refused.status == 409
        return jsonify(ok=False, message=refused.message, finished=finished), refused.status
    return jsonify(
        ok=True,
        position=saved.position,
        seq=saved.seq,
        saved_at=saved.saved_at.isoformat() if saved.saved_at else None,
        # The plant's wall clock, not the browser's: a phone set to UTC still shows local time.
        saved_time=to_local(saved.saved_at).strftime("%H:%M:%S") if saved.saved_at else None,
    )


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@login_required
def submit(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    if attempts.finish_attempt(attempt, attempts.AttemptStatus.SUBMITTED):
        flash(_("已交卷。"), "success")
    return redirect(url_for("quizzes.result", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>/result")
@login_required
def result(attempt_id: int):
    attempt = load(Attempt, attempt_id, attempts.can_view_attempt)
    if not attempt.finished:
        if attempt.deadline is not None and utcnow() > attempt.deadline:
            attempts.finish_attempt(attempt, attempts.AttemptStatus.TIMED_OUT)
        else:
            return redirect(url_for("quizzes.take", attempt_id=attempt.id))
    return render_template(
        "quizzes/result.html",
        attempt=attempt,
        review=attempts.review_allowed(attempt) or services.manages_quizzes(current_user),
        types=QUESTION_TYPE_LABELS,
    )


# --- wrong-answer book -----------------------------------------------------------------------


@bp.route("/wrong-book")
@login_required
def wrong_book():
    member = current_user.member
    authorize(member is not None)
    return render_template(
        "quizzes/wrong_book.html",
        entries=attempts.wrong_book_pages(member),
        confirm=ConfirmForm(),
        types=QUESTION_TYPE_LABELS,
    )


@bp.route("/wrong-book/practice", methods=["POST"])
@login_required
def wrong_book_practice():
    member = current_user.member
    authorize(member is not None)
    try:
        attempt = attempts.start_wrong_book_practice(member)
    except attempts.AttemptRefused as refused:
        _refuse(refused)
        return redirect(url_for("quizzes.wrong_book"))
    return redirect(url_for("quizzes.take", attempt_id=attempt.id))


# --- statistics ------------------------------------------------------------------------------


@bp.route("/<int:quiz_id>/stats")
@roles_required(Role.ORGANIZER)
def quiz_stats(quiz_id: int):
    quiz = load(Quiz, quiz_id, lambda user, quiz: services.manages_quizzes(user))
    attempts.finish_overdue_attempts(quiz=quiz)
    report = stats.quiz_report(quiz)
    return render_template(
        "quizzes/stats.html", quiz=quiz, report=report, chart=stats.histogram_svg(report)
    )


@bp.route("/<int:quiz_id>/stats.xlsx")
@roles_required(Role.ORGANIZER)
def quiz_stats_xlsx(quiz_id: int):
    quiz = load(Quiz, quiz_id, lambda user, quiz: services.manages_quizzes(user))
    return xlsx_response(
        f"{quiz.title}-统计.xlsx",
        stats.report_workbook(quiz, stats.quiz_report(quiz)),
        f"quiz-{quiz.id}-stats",
    )
