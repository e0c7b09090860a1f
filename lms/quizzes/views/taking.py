"""Taking a quiz: start, answer (page by page or autosaved), submit, the result, and the
wrong-answer book."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.access import Refused, authorize, is_organizer, load, session_login_required
from lms.auth.services import AccountRefused, SessionAccount
from lms.clock import to_local
from lms.database import utcnow
from lms.extensions import login_manager
from lms.forms import ConfirmForm, bounded_int
from lms.quizzes import access, attempts
from lms.quizzes.models import Attempt
from lms.quizzes.questions import QuestionType
from lms.quizzes.wrong_book import start_wrong_book_practice, wrong_book_pages
from lms.transaction import keep_changes
from lms.web import unlimited, use_account_locale


def _refuse(refused: attempts.AttemptRefused):
    """An answer or start the rules do not allow: a message, never a 500. What was changed on
    the way stays (overdue attempts found and finished)."""
    keep_changes()
    if request.is_json:
        return jsonify(ok=False, message=refused.message), refused.status
    flash(refused.message, "warning")
    return None


# --- taking a quiz ---------------------------------------------------------------------------


def _account_refused(refused: AccountRefused):
    """A page request whose session's account may not act: to sign-in, or to the password form."""
    if refused.signed_out:
        return login_manager.unauthorized()
    return redirect(url_for("auth.change_password"))


@session_login_required
def start(quiz_id: int, account: SessionAccount):
    """开始 (or 继续): what the whole cohort presses at the exam bell. The quiz, the account and
    the member's attempts of it are read in one statement; the account is not loaded."""
    try:
        facts = attempts.start_facts(quiz_id, account)
    except AccountRefused as refused:
        return _account_refused(refused)
    except attempts.AttemptRefused as refused:
        abort(refused.status)
    quiz, has_member = facts.quiz, facts.member_id is not None
    if not access.quiz_open_to(
        quiz, organizer=facts.organizer, has_member=has_member, in_session=lambda: facts.in_session
    ):
        if reason := access.why_quiz_is_closed_to(quiz, has_member=has_member):
            raise Refused(reason)
        abort(403)
    if not has_member:
        abort(403)
    try:
        attempt_id = attempts.start_from(facts)
    except attempts.AttemptRefused as refused:
        _refuse(refused)
        return redirect(url_for("quizzes.quiz", quiz_id=quiz.id))
    return redirect(url_for("quizzes.take", attempt_id=attempt_id))


def _own_attempt(attempt_id: int) -> Attempt:
    return load(Attempt, attempt_id, access.owns_attempt)


@session_login_required
def take(attempt_id: int, account: SessionAccount):
    """A question page. What the exam bell brings everyone to: the attempt, its questions and
    the session's account are read in one statement, and the account is not loaded."""
    position = request.args.get("q", 1, type=bounded_int)
    try:
        page = attempts.question_page(attempt_id, position, account)
    except AccountRefused as refused:
        return _account_refused(refused)
    except attempts.AttemptRefused as refused:
        abort(refused.status)
    if page is None:  # finished, or its time is up: the result page finishes it if need be
        return redirect(url_for("quizzes.result", attempt_id=attempt_id))
    use_account_locale(page.locale)
    return render_template(
        "quizzes/take.html",
        page=page,
        now=utcnow(),
        # the message with its placeholder, for the script to count live as answers are saved
        unanswered_message=_("还有 %(n)d 题未作答。"),
        # each palette button's label, translated once for the page's twenty or so
        position_label=_("第 %(n)d 题"),
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


@unlimited  # bounded by the attempt itself: one row a question, seq-ordered, size-checked
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
            return login_manager.unauthorized()
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


@login_required
def submit(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    if attempts.finish_attempt(attempt, attempts.AttemptStatus.SUBMITTED):
        flash(_("已交卷。"), "success")
    return redirect(url_for("quizzes.result", attempt_id=attempt.id))


@login_required
def result(attempt_id: int):
    attempt = load(Attempt, attempt_id, access.can_view_attempt)
    if not attempt.finished:
        if attempt.deadline is not None and utcnow() > attempt.deadline:
            attempts.finish_attempt(attempt, attempts.AttemptStatus.TIMED_OUT)
        else:
            return redirect(url_for("quizzes.take", attempt_id=attempt.id))
    return render_template(
        "quizzes/result.html",
        attempt=attempt,
        review=attempts.review_allowed(attempt) or is_organizer(current_user),
    )


# --- wrong-answer book -----------------------------------------------------------------------


@login_required
def wrong_book():
    member = current_user.member
    authorize(member is not None)
    return render_template(
        "quizzes/wrong_book.html",
        entries=wrong_book_pages(member),
        confirm=ConfirmForm(),
    )


@login_required
def wrong_book_practice():
    member = current_user.member
    authorize(member is not None)
    try:
        attempt = start_wrong_book_practice(member)
    except attempts.AttemptRefused as refused:
        _refuse(refused)
        return redirect(url_for("quizzes.wrong_book"))
    return redirect(url_for("quizzes.take", attempt_id=attempt.id))
