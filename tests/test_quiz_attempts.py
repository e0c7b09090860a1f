"""Taking a quiz: the server's deadline, autosave, resume, idempotent submit, the sweeper,
refused answers, review by feedback setting, attempts that count, and the wrong-answer book."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError

from lms.auth.models import Role
from lms.auth.services import SessionAccount
from lms.database import utcnow
from lms.extensions import db
from lms.quizzes import attempts
from lms.quizzes.models import (
    Attempt,
    AttemptStatus,
    CountingRule,
    Feedback,
    QuizStatus,
    WrongAnswer,
)
from lms.quizzes.questions import QuestionType
from lms.sessions.models import EnrollmentStatus
from tests.conftest import login
from tests.factories import (
    make_enrollment,
    make_member,
    make_question,
    make_quiz,
    make_session,
    make_user,
)


@pytest.fixture
def trainee():
    return make_user(roles={Role.TRAINEE}, member=make_member())


@pytest.fixture
def questions():
    return [
        make_question(type=QuestionType.SINGLE, correct=[1]),
        make_question(type=QuestionType.MULTIPLE, correct=[0, 2]),
        make_question(type=QuestionType.TRUE_FALSE, correct=[0]),
        make_question(type=QuestionType.FILL_BLANK, blanks=[["共产主义"]]),
    ]


RIGHT = [{"choices": [1]}, {"choices": [0, 2]}, {"choices": [0]}, {"blanks": ["共产主义"]}]


def _start(client, quiz) -> Attempt:
    response = client.post(f"/quizzes/{quiz.id}/start")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    match = re.search(r"/quizzes/attempts/(\d+)", response.location)
    assert match, response.location
    return db.session.get(Attempt, int(match.group(1)))


def _save(client, attempt, position, response, seq=None):
    body = {"position": position, "response": response}
    if seq is not None:
        body["seq"] = seq
    return client.post(f"/quizzes/attempts/{attempt.id}/answer", json=body)


def test_start_fixes_the_deadline_and_resumes_the_same_attempt(client, trainee, questions):
    quiz = make_quiz(questions, time_limit_minutes=30)
    login(client, trainee)
    attempt = _start(client, quiz)
    assert attempt.deadline - attempt.started_at == timedelta(minutes=30)
    assert [q.position for q in attempt.questions] == [1, 2, 3, 4]
    _save(client, attempt, 1, {"choices": [1]})
    # Reload, or sign in on another device: the same attempt, with its answer.
    again = _start(client, quiz)
    assert again.id == attempt.id
    other_device = client.application.test_client()
    login(other_device, trainee)
    page = other_device.get(f"/quizzes/attempts/{attempt.id}?q=1").get_data(as_text=True)
    assert re.search(r'value="1"\s+checked', page)
    assert db.session.scalar(sa.select(sa.func.count(Attempt.id))) == 1


def test_the_deadline_is_cut_by_the_closing_time(client, trainee, questions):
    quiz = make_quiz(questions, time_limit_minutes=60, closes_at=utcnow() + timedelta(minutes=10))
    login(client, trainee)
    attempt = _start(client, quiz)
    assert attempt.deadline == quiz.closes_at


def test_the_database_allows_one_attempt_in_progress(trainee, questions):
    quiz = make_quiz(questions)
    attempts.start_attempt(quiz, trainee.member)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(
            Attempt(quiz=quiz, member=trainee.member, number=2, seed=1, started_at=utcnow())
        )


def test_a_start_that_meets_an_attempt_begun_a_moment_ago_resumes_it(
    monkeypatch, trainee, questions
):
    quiz = make_quiz(questions)
    first = attempts.start_attempt(quiz, trainee.member)
    # Another tab's start, not yet visible when this one looked: its INSERT meets the index.
    monkeypatch.setattr(attempts, "attempts_of", lambda _quiz, _member: [])
    again = attempts.start_attempt(quiz, trainee.member)
    assert again is first
    assert db.session.scalar(sa.select(sa.func.count(Attempt.id))) == 1


def test_a_start_whose_rival_attempt_finished_meanwhile_asks_to_try_again(
    monkeypatch, trainee, questions
):
    quiz = make_quiz(questions)
    attempts.start_attempt(quiz, trainee.member)
    monkeypatch.setattr(attempts, "attempts_of", lambda _quiz, _member: [])
    monkeypatch.setattr(attempts, "in_progress_attempt_id", lambda _quiz, _member_id: None)
    with pytest.raises(attempts.AttemptRefused) as refused:
        attempts.start_attempt(quiz, trainee.member)
    assert refused.value.status == 409
    assert db.session.scalar(sa.select(sa.func.count(Attempt.id))) == 1


def test_the_exam_page_leaves_out_the_site_menu_but_can_sign_out(client, trainee, questions):
    login(client, trainee)
    attempt = _start(client, make_quiz(questions))
    page = client.get(f"/quizzes/attempts/{attempt.id}").get_data(as_text=True)
    assert 'id="mainnav"' not in page and "/quizzes/banks" not in page
    assert 'action="/logout"' in page and trainee.name in page
    assert 'id="mainnav"' in client.get("/").get_data(as_text=True)  # other pages keep it


def test_full_round_scores_and_passes(client, trainee, questions):
    quiz = make_quiz(questions, pass_mark=75)
    login(client, trainee)
    attempt = _start(client, quiz)
    for item in attempt.questions:
        index = questions.index(item.version.question)
        assert _save(client, attempt, item.position, RIGHT[index]).json["ok"]
    assert client.post(f"/quizzes/attempts/{attempt.id}/submit").status_code == 302
    assert attempt.status is AttemptStatus.SUBMITTED
    assert (attempt.score, attempt.max_score, attempt.passed) == (4, 4, True)


def test_submit_is_idempotent(client, trainee, questions):
    quiz = make_quiz(questions)
    login(client, trainee)
    attempt = _start(client, quiz)
    _save(client, attempt, 1, RIGHT[0])
    for _ in range(3):  # double click, second tab, retried request
        response = client.post(f"/quizzes/attempts/{attempt.id}/submit")
        assert response.status_code == 302 and "/result" in response.location
    finished_at, score = attempt.finished_at, attempt.score
    assert attempts.finish_attempt(attempt, AttemptStatus.SUBMITTED) is False
    assert (attempt.finished_at, attempt.score) == (finished_at, score)
    assert db.session.scalar(sa.select(sa.func.count(Attempt.id))) == 1


def test_an_older_autosave_arriving_late_does_not_overwrite_a_newer_one(client, trainee, questions):
    quiz = make_quiz(questions)
    login(client, trainee)
    attempt = _start(client, quiz)
    assert _save(client, attempt, 1, {"choices": [2]}, seq=2).json["seq"] == 2
    late = _save(client, attempt, 1, {"choices": [0]}, seq=1)
    assert late.status_code == 200 and late.json["seq"] == 2
    item = attempt.questions[0]
    db.session.refresh(item)
    assert item.response == {"choices": [2]}
    # Without a sequence (a plain form post) the save always applies.
    client.post(f"/quizzes/attempts/{attempt.id}/q/1", data={"choice": "3", "go": "next"})
    db.session.refresh(item)
    assert item.response == {"choices": [3]} and item.saved_seq == 3


def test_clearing_an_answer(client, trainee, questions):
    quiz = make_quiz(questions)
    login(client, trainee)
    attempt = _start(client, quiz)
    _save(client, attempt, 1, {"choices": [1]})
    _save(client, attempt, 1, {"choices": []})
    item = attempt.questions[0]
    db.session.refresh(item)
    assert item.response is None


@pytest.mark.parametrize(
    ("position", "response", "status", "message"),
    [
        (1, {"choices": [7]}, 400, "所选的选项不存在"),
        (1, {"choices": [0, 1]}, 400, "这道题只能选一个答案"),
        (1, {"choices": ["1"]}, 400, "答案的格式不正确"),
        (1, {"choices": [True]}, 400, "答案的格式不正确"),
        (1, {"choices": [1, 1]}, 400, "所选的选项不存在"),
        (1, "B", 400, "答案的格式不正确"),
        (3, {"choices": [2]}, 400, "所选的选项不存在"),
        (4, {"blanks": ["a", "b"]}, 400, "填空的数量与题目不符"),
        (4, {"blanks": ["长" * 201]}, 400, "填写的内容太长"),
        (4, {"choices": [0]}, 400, "答案的格式不正确"),
        (99, {"choices": [0]}, 404, "本次作答中没有这道题"),
    ],
)
def test_malformed_answers_are_refused_and_change_nothing(
    client, trainee, questions, position, response, status, message
):
    quiz = make_quiz(questions)
    login(client, trainee)
    attempt = _start(client, quiz)
    result = _save(client, attempt, position, response)
    assert result.status_code == status
    assert message in result.json["message"]
    for item in attempt.questions:
        db.session.refresh(item)
        assert item.response is None and item.saved_seq == 0


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"position": "1"}', b"{}"])
def test_non_json_bodies_are_refused(client, trainee, questions, body):
    quiz = make_quiz(questions)
    login(client, trainee)
    attempt = _start(client, quiz)
    response = client.post(
        f"/quizzes/attempts/{attempt.id}/answer", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert "答案的格式不正确" in response.json["message"]


def test_another_members_attempt_is_out_of_reach(client, trainee, questions):
    quiz = make_quiz(questions)
    login(client, trainee)
    attempt = _start(client, quiz)
    intruder = make_user(roles={Role.TRAINEE}, member=make_member())
    login(client, intruder)
    assert _save(client, attempt, 1, {"choices": [1]}).status_code == 403
    assert client.get(f"/quizzes/attempts/{attempt.id}").status_code == 403
    assert client.post(f"/quizzes/attempts/{attempt.id}/submit").status_code == 403
    assert client.get(f"/quizzes/attempts/{attempt.id}/result").status_code == 403
    assert (
        client.post(f"/quizzes/attempts/{attempt.id}/q/1", data={"choice": "1"}).status_code == 403
    )
    assert attempt.status is AttemptStatus.IN_PROGRESS
    db.session.refresh(attempt.questions[0])
    assert attempt.questions[0].response is None


def test_answers_after_the_deadline_are_refused_and_the_attempt_is_graded(
    client, trainee, questions
):
    quiz = make_quiz(questions, time_limit_minutes=10)
    login(client, trainee)
    attempt = _start(client, quiz)
    _save(client, attempt, 1, RIGHT[0])
    attempt.deadline = utcnow() - timedelta(seconds=1)
    db.session.flush()
    late = _save(client, attempt, 2, RIGHT[1])
    assert late.status_code == 409 and late.json["finished"] is True
    assert "作答时间已到" in late.json["message"]
    assert attempt.status is AttemptStatus.TIMED_OUT
    assert attempt.score == 1  # graded from what was saved in time


def test_the_sweeper_finishes_attempts_nobody_came_back_to(runner, trainee, questions):
    quiz = make_quiz(questions, time_limit_minutes=5)
    attempt = attempts.start_attempt(quiz, trainee.member)
    still_running = attempts.start_attempt(make_quiz(questions), trainee.member)
    attempt.deadline = utcnow() - timedelta(minutes=1)
    db.session.flush()
    result = runner.invoke(args=["quizzes", "sweep"])
    assert result.exit_code == 0, result.output
    assert "1 overdue attempts finished" in result.output
    db.session.refresh(attempt)
    db.session.refresh(still_running)
    assert attempt.status is AttemptStatus.TIMED_OUT and attempt.score == 0
    assert still_running.status is AttemptStatus.IN_PROGRESS


def test_coming_back_after_the_deadline_shows_the_result(client, trainee, questions):
    quiz = make_quiz(questions, time_limit_minutes=5)
    login(client, trainee)
    attempt = _start(client, quiz)
    attempt.deadline = utcnow() - timedelta(minutes=1)
    db.session.flush()
    response = client.get(f"/quizzes/attempts/{attempt.id}")
    assert response.status_code == 302 and "/result" in response.location
    result = client.get(response.location)
    assert result.status_code == 200 and attempt.status is AttemptStatus.TIMED_OUT


def test_the_key_never_reaches_the_browser_before_submission(client, trainee):
    blank = make_question(
        type=QuestionType.FILL_BLANK,
        blanks=[["独一无二的答案词"]],
        explanation="解析里的秘密",
    )
    single = make_question(options=["选项一", "选项二"], correct=[1], source="出处秘密")
    quiz = make_quiz([blank, single])
    login(client, trainee)
    attempt = _start(client, quiz)
    for position in (1, 2):
        html = client.get(f"/quizzes/attempts/{attempt.id}?q={position}").get_data(as_text=True)
        for secret in ("独一无二的答案词", "解析里的秘密", "出处秘密", "list-group-item-success"):
            assert secret not in html
    client.post(f"/quizzes/attempts/{attempt.id}/submit")
    review = client.get(f"/quizzes/attempts/{attempt.id}/result").get_data(as_text=True)
    assert "独一无二的答案词" in review and "解析里的秘密" in review and "出处秘密" in review


@pytest.mark.parametrize(
    ("feedback", "closes_in", "shows_key"),
    [
        (Feedback.IMMEDIATE, None, True),
        (Feedback.NEVER, None, False),
        (Feedback.AFTER_CLOSE, timedelta(hours=1), False),
    ],
)
def test_review_follows_the_feedback_setting(client, trainee, feedback, closes_in, shows_key):
    question = make_question(explanation="这是解析")
    quiz = make_quiz(
        [question],
        feedback=feedback,
        closes_at=utcnow() + closes_in if closes_in else None,
    )
    login(client, trainee)
    attempt = _start(client, quiz)
    client.post(f"/quizzes/attempts/{attempt.id}/submit")
    html = client.get(f"/quizzes/attempts/{attempt.id}/result").get_data(as_text=True)
    assert ("这是解析" in html) is shows_key


def test_after_close_feedback_opens_once_closed(trainee):
    quiz = make_quiz(feedback=Feedback.AFTER_CLOSE, closes_at=utcnow() + timedelta(hours=1))
    attempt = attempts.start_attempt(quiz, trainee.member)
    attempts.finish_attempt(attempt, AttemptStatus.SUBMITTED)
    assert not attempts.review_allowed(attempt)
    assert attempts.review_allowed(attempt, now=quiz.closes_at + timedelta(seconds=1))


def test_attempts_allowed_and_the_window(client, trainee, questions):
    quiz = make_quiz(questions, max_attempts=1)
    login(client, trainee)
    attempt = _start(client, quiz)
    client.post(f"/quizzes/attempts/{attempt.id}/submit")
    response = client.post(f"/quizzes/{quiz.id}/start", follow_redirects=True)
    assert "用完本测试的 1 次作答机会" in response.get_data(as_text=True)
    closed = make_quiz(questions, closes_at=utcnow() - timedelta(minutes=1))
    response = client.post(f"/quizzes/{closed.id}/start", follow_redirects=True)
    assert "该测试已经结束" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Attempt.id))) == 1


def test_session_quizzes_are_for_the_enrolled(client, trainee, questions):
    session = make_session()
    quiz = make_quiz(questions, session=session)
    login(client, trainee)
    assert client.get(f"/quizzes/{quiz.id}").status_code == 403
    assert client.post(f"/quizzes/{quiz.id}/start").status_code == 403
    make_enrollment(session, trainee.member)
    assert client.get(f"/quizzes/{quiz.id}").status_code == 200


# Enrollment status → in the session (may start its quiz, see its enrolled-only material,
# find its lessons in the timetable). A pending leave request means the member is not coming.
IN_SESSION_BY_STATUS = [
    (EnrollmentStatus.INVITED, True),
    (EnrollmentStatus.CONFIRMED, True),
    (EnrollmentStatus.COMPLETED, True),
    (EnrollmentStatus.LEAVE_REQUESTED, False),
    (EnrollmentStatus.LEAVE_APPROVED, False),
    (EnrollmentStatus.ABSENT, False),
]


@pytest.mark.parametrize(("status", "allowed"), IN_SESSION_BY_STATUS)
def test_only_members_in_the_session_may_start_its_quiz(
    client, trainee, questions, status, allowed
):
    session = make_session()
    quiz = make_quiz(questions, title="本期结业测试", session=session)
    make_enrollment(session, trainee.member).status = status
    db.session.flush()
    login(client, trainee)
    listed = "本期结业测试" in client.get("/quizzes/").get_data(as_text=True)
    page = client.get(f"/quizzes/{quiz.id}")
    started = client.post(f"/quizzes/{quiz.id}/start")
    attempts_made = db.session.scalar(sa.select(sa.func.count(Attempt.id)))
    if allowed:
        assert listed and page.status_code == 200
        assert started.status_code == 302 and "/quizzes/attempts/" in started.location
        assert attempts_made == 1
    else:
        assert not listed
        for refused in (page, started):
            assert refused.status_code == 403
            assert "您未参加本期培训，不能参加此测试。" in refused.get_data(as_text=True)
        assert attempts_made == 0


def test_the_refusal_is_in_the_members_language(client, trainee, questions):
    session = make_session()
    quiz = make_quiz(questions, session=session)
    make_enrollment(session, trainee.member).status = EnrollmentStatus.ABSENT
    trainee.locale = "en"
    db.session.flush()
    login(client, trainee)
    response = client.post(f"/quizzes/{quiz.id}/start")
    assert response.status_code == 403
    assert "you cannot take this quiz" in response.get_data(as_text=True)


@pytest.mark.parametrize(("rule", "expected"), [(CountingRule.HIGHEST, 1), (CountingRule.LAST, 0)])
def test_which_attempt_counts(trainee, rule, expected):
    question = make_question(correct=[1])
    quiz = make_quiz([question], max_attempts=2, counting=rule)
    for answer in ([1], [0]):
        attempt = attempts.start_attempt(quiz, trainee.member)
        attempts.save_answer(attempt, 1, {"choices": answer})
        attempts.finish_attempt(attempt, AttemptStatus.SUBMITTED)
    assert attempts.counting_attempt(quiz, trainee.member).score == expected


def test_practice_never_counts_and_allows_more_attempts(trainee):
    quiz = make_quiz(practice=True, max_attempts=1)
    for _ in range(3):
        attempt = attempts.start_attempt(quiz, trainee.member)
        attempts.finish_attempt(attempt, AttemptStatus.SUBMITTED)
    assert attempt.practice and attempt.number == 3
    assert attempts.counting_attempt(quiz, trainee.member) is None


def test_shuffling_is_deterministic_per_attempt_seed(trainee):
    questions = [make_question() for _ in range(8)]
    quiz = make_quiz(questions, shuffle_questions=True, shuffle_options=True)
    attempt = attempts.start_attempt(quiz, trainee.member)
    layout = [(q.version_id, q.option_order) for q in attempt.questions]
    rng = random.Random(attempt.seed)
    versions = attempts._choose_versions(quiz, rng)
    again = attempts.lay_out_questions(versions, rng, True, True)
    assert [(row["version_id"], row["option_order"]) for row in again] == layout
    assert layout != sorted(layout)  # 8 questions: left in order by chance once in 40,320


def test_random_draws_respect_category_and_difficulty(trainee):
    from lms.quizzes import services

    bank_question = make_question(category="党章/党员", difficulty=1)
    bank = bank_question.bank
    for _ in range(5):
        make_question(bank, category="党章/党员", difficulty=1)
        make_question(bank, category="党章/党员", difficulty=3)
        make_question(bank, category="条例", difficulty=1)
    quiz = make_quiz([])
    category = services.category_by_path(bank, "党章")
    services.add_quiz_draw(quiz, bank, category, 1, 4, Decimal(2))
    attempt = attempts.start_attempt(quiz, trainee.member)
    assert len(attempt.questions) == 4 and attempt.max_score == 8
    for item in attempt.questions:
        assert item.version.difficulty == 1
        assert item.version.question.category.path == "党章/党员"


def _grouped(bank, group: str | None):
    question = make_question(bank)
    question.exclusive_group = group
    db.session.flush()
    return question


def _drawn_groups(quiz, seeds) -> list[list[str | None]]:
    return [
        [version.question.exclusive_group for version, _points in picked]
        for picked in (attempts._choose_versions(quiz, random.Random(seed)) for seed in seeds)
    ]


def test_draws_never_put_two_of_an_exclusive_group_in_one_attempt():
    from lms.quizzes import services

    bank = make_question().bank  # one ungrouped question
    for group, size in (("lj-norms", 4), ("lj-family", 2), (None, 2)):
        for _ in range(size):
            _grouped(bank, group)
    quiz = make_quiz([])
    services.add_quiz_draw(quiz, bank, None, None, 5, Decimal(1))
    picks = _drawn_groups(quiz, range(200))
    for groups in picks:
        # Three ungrouped questions and one of each group: the draw still fills its five.
        assert len(groups) == 5
        assert sorted(g for g in groups if g) == ["lj-family", "lj-norms"]
    # The seed still decides which of a group's questions comes up.
    drawn = {
        version.question_id
        for seed in range(200)
        for version, _points in attempts._choose_versions(quiz, random.Random(seed))
        if version.question.exclusive_group == "lj-norms"
    }
    assert len(drawn) == 4
    again = attempts._choose_versions(quiz, random.Random(7))
    assert again == attempts._choose_versions(quiz, random.Random(7))


def test_a_fixed_question_keeps_its_group_mates_out_of_the_draws(client, trainee):
    from lms.quizzes import services

    bank = make_question().bank
    fixed = _grouped(bank, "zc-ideal")
    mates = [_grouped(bank, "zc-ideal") for _ in range(3)]
    other_bank_namesake = _grouped(make_question().bank, "zc-ideal")
    quiz = make_quiz([fixed])
    services.add_quiz_draw(quiz, bank, None, None, 4, Decimal(1))
    services.add_quiz_draw(quiz, other_bank_namesake.bank, None, None, 2, Decimal(1))
    mate_ids = {q.id for q in mates}
    for seed in range(100):
        ids = [v.question_id for v, _p in attempts._choose_versions(quiz, random.Random(seed))]
        assert fixed.id in ids and not mate_ids & set(ids)
        # A group is its bank's own: the same name in another bank keeps nothing apart.
        assert other_bank_namesake.id in ids
    attempt = attempts.start_attempt(quiz, trainee.member)
    assert len(attempt.questions) == 1 + 1 + 2
    # The setup page says the first draw cannot supply its four.
    assert services.draw_supplies(quiz) == {quiz.draws[0].id: 1, quiz.draws[1].id: 2}
    login(client, make_user(roles={Role.ORGANIZER}))
    page = client.get(f"/quizzes/{quiz.id}").get_data(as_text=True)
    assert page.count("题目不足：这里最多只能抽出 1 题") == 1


def test_wrong_answers_go_to_the_book_and_leave_when_practised_right(client, trainee):
    question = make_question(correct=[1])
    quiz = make_quiz([question])
    attempt = attempts.start_attempt(quiz, trainee.member)
    attempts.save_answer(attempt, 1, {"choices": [0]})
    attempts.finish_attempt(attempt, AttemptStatus.SUBMITTED)
    login(client, trainee)
    assert question.current.stem in client.get("/quizzes/wrong-book").get_data(as_text=True)

    practice = client.post("/quizzes/wrong-book/practice")
    practice_attempt = db.session.get(Attempt, int(practice.location.rsplit("/", 1)[1]))
    assert practice_attempt.practice and practice_attempt.quiz_id is None
    page = client.get(practice.location).get_data(as_text=True)  # no quiz to take a title from
    assert '<h1 class="h5 mb-0 me-auto">错题练习</h1>' in page and question.current.stem in page
    _save(client, practice_attempt, 1, {"choices": [1]})
    client.post(f"/quizzes/attempts/{practice_attempt.id}/submit")
    entry = db.session.scalar(sa.select(WrongAnswer))
    assert entry.resolved_at is not None
    assert question.current.stem not in client.get("/quizzes/wrong-book").get_data(as_text=True)


def test_empty_wrong_book_practice_says_so(client, trainee):
    login(client, trainee)
    response = client.post("/quizzes/wrong-book/practice", follow_redirects=True)
    assert "错题本是空的" in response.get_data(as_text=True)


def test_quiz_list_shows_what_counts_and_only_what_the_member_may_take(client, trainee):
    question = make_question(correct=[1])
    counted = make_quiz([question], title="计分测验", max_attempts=2)
    for answer in ([1], [0]):  # highest counts: 100 %
        attempt = attempts.start_attempt(counted, trainee.member)
        attempts.save_answer(attempt, 1, {"choices": answer})
        attempts.finish_attempt(attempt, AttemptStatus.SUBMITTED)
    make_quiz(title="别期测验", session=make_session())  # not enrolled there
    mine = make_session()
    make_enrollment(mine, trainee.member)
    make_quiz(title="本期测验", session=mine)
    login(client, trainee)
    html = client.get("/quizzes/").get_data(as_text=True)
    assert "计分测验" in html and "100.0" in html
    assert "本期测验" in html and "别期测验" not in html


def test_review_shows_each_of_the_trainees_own_choices(client, trainee):
    """Every question of the review is its own group of inputs, so the browser shows each
    single-choice and true/false answer checked, not only the last one on the page."""
    single = make_question(type=QuestionType.SINGLE, correct=[1])
    true_false = make_question(type=QuestionType.TRUE_FALSE, correct=[0])
    multiple = make_question(type=QuestionType.MULTIPLE, correct=[0, 2])
    quiz = make_quiz([single, true_false, multiple], feedback=Feedback.IMMEDIATE)
    login(client, trainee)
    attempt = _start(client, quiz)
    given = {1: [2], 2: [1], 3: [0, 1]}
    for position, choices in given.items():
        assert _save(client, attempt, position, {"choices": choices}).json["ok"]
    client.post(f"/quizzes/attempts/{attempt.id}/submit")
    html = client.get(f"/quizzes/attempts/{attempt.id}/result").get_data(as_text=True)
    inputs = re.findall(r'<input class="form-check-input[^>]*>', html)
    names = [re.search(r'name="([^"]+)"', tag).group(1) for tag in inputs]
    # one name per question: radios of different questions never share a group
    assert len(set(names)) == 3 and names == sorted(names, key=names.index)
    checked = {}
    for name, tag in zip(names, inputs, strict=True):
        if "checked" in tag:
            checked.setdefault(name, []).append(int(re.search(r'value="(\d+)"', tag).group(1)))
    assert list(checked.values()) == list(given.values())


def test_the_saved_mark_shows_the_plants_time_not_utc(client, trainee, questions):
    from zoneinfo import ZoneInfo

    quiz = make_quiz(questions)
    login(client, trainee)
    attempt = _start(client, quiz)
    answer = _save(client, attempt, 1, RIGHT[0]).json
    saved_at = attempt.questions[0].saved_at
    local = saved_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M:%S")
    assert local != saved_at.strftime("%H:%M:%S")  # eight hours apart
    assert answer["saved_time"] == local
    page = client.get(f"/quizzes/attempts/{attempt.id}?q=1").get_data(as_text=True)
    assert f"已保存 {local}" in page
    script = client.get("/static/quiz.js").get_data(as_text=True)
    assert "data.saved_time" in script and "toLocaleTimeString" not in script


def test_the_submit_panel_counts_what_is_unanswered_and_the_script_keeps_it_true(
    client, trainee, questions
):
    quiz = make_quiz(questions)
    login(client, trainee)
    attempt = _start(client, quiz)
    for position, data in ((1, {"choice": "1"}), (3, {"choice": "0"})):
        client.post(f"/quizzes/attempts/{attempt.id}/q/{position}", data={**data, "go": "4"})
    # the navigation to the last question saved the answer on screen before counting
    landing = client.post(
        f"/quizzes/attempts/{attempt.id}/q/2", data={"choice": ["0", "2"], "go": "4"}
    )
    page = client.get(landing.location).get_data(as_text=True)
    assert "还有 1 题未作答。" in page
    flags = re.findall(r'data-position="(\d+)" data-answered="([01])"', page)
    assert flags == [("1", "1"), ("2", "1"), ("3", "1"), ("4", "0")]
    # what the script counts from, and the wording it fills in
    assert 'data-msg-some="还有 %(n)d 题未作答。"' in page
    assert 'data-msg-none="所有题目都已作答。"' in page
    script = client.get("/static/quiz.js").get_data(as_text=True)
    assert "countUnanswered()" in script and "[data-answered='0']" in script
    client.post(f"/quizzes/attempts/{attempt.id}/q/4", data={"blank": "共产主义", "go": "submit"})
    page = client.get(f"/quizzes/attempts/{attempt.id}?q=4&confirm=1").get_data(as_text=True)
    assert '"所有题目都已作答。">所有题目都已作答。</span>' in page


def test_a_deeply_nested_autosave_body_is_refused_and_changes_nothing(client, trainee, questions):
    quiz = make_quiz(questions)
    login(client, trainee)
    attempt = _start(client, quiz)
    body = '{"position": 1, "response": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post(
        f"/quizzes/attempts/{attempt.id}/answer", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json["message"] == "答案的格式不正确。"
    db.session.expire_all()
    assert all(item.response is None and item.saved_seq == 0 for item in attempt.questions)


# --- the autosave checks the session's account in its own statement -------------------------


def _statements(run) -> list[str]:
    """The queries `run()` sends (not the transaction control: BEGIN, SAVEPOINT and the like)."""
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if re.match(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", statement, re.IGNORECASE):
            sent.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        run()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
    return sent


def _unanswered(attempt) -> bool:
    db.session.expire_all()
    return all(item.response is None and item.saved_seq == 0 for item in attempt.questions)


def test_an_autosave_never_loads_the_account_row(client, trainee, questions):
    quiz = make_quiz(questions)
    login(client, trainee)
    attempt = _start(client, quiz)
    replies = []
    sent = _statements(lambda: replies.append(_save(client, attempt, 1, RIGHT[0], seq=1)))
    assert replies[0].status_code == 200 and replies[0].json["ok"]
    # One statement checks the account, the attempt and the answer, locks and writes. The
    # account is only joined in.
    assert len(sent) == 1 and sent[0].lstrip().startswith("UPDATE"), sent
    assert not any(re.search(r"\bFROM users\b", statement) for statement in sent), sent
    assert any(re.search(r"\bJOIN users\b", statement) for statement in sent), sent
    db.session.refresh(attempt.questions[0])
    assert attempt.questions[0].response == RIGHT[0]


def test_an_autosave_on_a_copied_cookie_is_refused_after_logout(app, trainee, questions):
    quiz = make_quiz(questions)
    browser, thief = app.test_client(), app.test_client()
    login(browser, trainee)
    attempt = _start(browser, quiz)
    thief.set_cookie("session", browser.get_cookie("session").value)
    assert _save(thief, attempt, 1, RIGHT[0]).json["ok"]  # the copy works while signed in
    browser.post("/logout")
    refused = _save(thief, attempt, 2, RIGHT[1])
    assert refused.status_code == 302 and refused.location.startswith("/login")
    db.session.expire_all()
    assert attempt.questions[1].response is None and attempt.questions[1].saved_seq == 0


@pytest.mark.parametrize("change", ["ended", "disabled", "deleted"])
def test_an_autosave_of_a_signed_out_account_is_refused_and_saves_nothing(
    client, trainee, questions, change
):
    quiz = make_quiz(questions)
    login(client, trainee)
    attempt = _start(client, quiz)
    if change == "ended":
        trainee.end_sessions()  # signed out on another device, or the password changed
    elif change == "disabled":
        trainee.active = False
    else:
        db.session.delete(trainee)
    db.session.flush()
    refused = _save(client, attempt, 1, RIGHT[0], seq=1)
    assert refused.status_code == 302 and refused.location.startswith("/login")
    assert _unanswered(attempt)


def test_signed_out_comes_before_not_found(client, trainee, questions):
    login(client, trainee)
    trainee.end_sessions()
    db.session.flush()
    refused = client.post("/quizzes/attempts/999999/answer", json={"position": 1})
    assert refused.status_code == 302 and refused.location.startswith("/login")
    anonymous = client.application.test_client()
    refused = anonymous.post("/quizzes/attempts/999999/answer", json={"position": 1})
    assert refused.status_code == 302 and refused.location.startswith("/login")


def test_an_account_that_must_change_its_password_cannot_autosave(client, trainee, questions):
    quiz = make_quiz(questions)
    login(client, trainee)
    attempt = _start(client, quiz)
    trainee.must_change_password = True
    db.session.flush()
    refused = _save(client, attempt, 1, RIGHT[0], seq=1)
    assert refused.status_code == 403
    assert refused.json == {"ok": False, "message": "请先修改密码，然后再作答。"}
    assert _unanswered(attempt)
    # The pages still send it to the password form.
    page = client.get(f"/quizzes/attempts/{attempt.id}")
    assert page.status_code == 302 and page.location.startswith("/account/password")


def test_an_account_without_a_member_cannot_autosave(client, trainee, questions):
    quiz = make_quiz(questions)
    login(client, trainee)
    attempt = _start(client, quiz)
    login(client, make_user(roles={Role.ORGANIZER}))
    assert _save(client, attempt, 1, RIGHT[0]).status_code == 403
    assert _save(client, attempt, 1, "not an answer").status_code == 403
    assert client.post(f"/quizzes/attempts/{attempt.id}/answer", data="[]").status_code == 403
    assert _unanswered(attempt)


def test_a_strangers_malformed_autosave_learns_nothing(client, trainee, questions):
    quiz = make_quiz(questions)
    login(client, trainee)
    attempt = _start(client, quiz)
    login(client, make_user(roles={Role.TRAINEE}, member=make_member()))
    for body in ({"position": "1"}, {"response": None}, [1]):
        assert client.post(f"/quizzes/attempts/{attempt.id}/answer", json=body).status_code == 403
    assert client.post("/quizzes/attempts/999999/answer", json=[1]).status_code == 404


@pytest.mark.usefixtures("csrf_enabled")
def test_the_autosave_needs_the_pages_csrf_token(client, trainee, questions):
    quiz = make_quiz(questions)
    login(client, trainee)
    page = client.get(f"/quizzes/{quiz.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    started = client.post(f"/quizzes/{quiz.id}/start", data={"csrf_token": token})
    attempt = db.session.get(Attempt, int(re.search(r"/attempts/(\d+)", started.location)[1]))
    url = f"/quizzes/attempts/{attempt.id}/answer"
    body = {"position": 1, "response": RIGHT[0], "seq": 1}
    assert client.post(url, json=body).status_code == 400
    assert client.post(url, json=body, headers={"X-CSRFToken": "forged"}).status_code == 400
    assert _unanswered(attempt)
    saved = client.post(url, json=body, headers={"X-CSRFToken": token})
    assert saved.status_code == 200 and saved.json["ok"]


def test_the_question_page_is_one_statement_that_never_loads_the_account(
    client, trainee, questions
):
    quiz = make_quiz(questions)
    login(client, trainee)
    attempt = _start(client, quiz)
    trainee.locale = "en"
    db.session.flush()
    pages = []
    sent = _statements(lambda: pages.append(client.get(f"/quizzes/attempts/{attempt.id}?q=2")))
    assert pages[0].status_code == 200
    # The attempt, its questions and the account's check in one statement; the account is only
    # joined in, and the page is still in the account's language and shows the member's name.
    assert len(sent) == 1, sent
    assert re.search(r"\bJOIN users\b", sent[0]) and not re.search(r"\bFROM users\b", sent[0])
    html = pages[0].get_data(as_text=True)
    assert "Question 2 of" in html and trainee.member.name in html


def test_a_start_is_four_statements_that_never_load_the_account(client, trainee, questions):
    session = make_session()
    quiz = make_quiz(questions, session=session)
    make_enrollment(session, trainee.member)
    login(client, trainee)
    replies = []
    sent = _statements(lambda: replies.append(client.post(f"/quizzes/{quiz.id}/start")))
    assert replies[0].status_code == 302 and "/quizzes/attempts/" in replies[0].location
    # The quiz with the account's check, who may take it and the attempts made; the questions;
    # the attempt; its questions.
    assert len(sent) == 4, sent
    assert re.search(r"\bJOIN users\b", sent[0]), sent[0]
    assert not any(re.search(r"\bFROM users\b", statement) for statement in sent), sent


def test_a_start_counts_only_the_members_own_attempts(client, trainee, questions):
    quiz = make_quiz(questions, max_attempts=2)
    other = make_member()
    attempts.start_attempt(quiz, other)  # in progress
    finished = attempts.start_attempt(make_quiz(questions), trainee.member)
    attempts.finish_attempt(finished, AttemptStatus.SUBMITTED)
    login(client, trainee)
    mine = _start(client, quiz)
    assert mine.member_id == trainee.member.id and mine.number == 1


# Who presses 开始 on which quiz, and what they get: (case, status, where a redirect goes,
# whether an attempt is made).
_START_CASES = [
    ("in the session", 302, "/quizzes/attempts/", True),
    ("not in the session", 403, None, False),
    ("a draft quiz", 403, None, False),
    ("an organizer without a member", 403, None, False),
    ("an organizer with a member, a draft quiz", 302, "/quizzes/", False),  # not open yet
    ("no such quiz", 404, None, False),
    ("signed out elsewhere", 302, "/login", False),
    ("password change due", 302, "/account/password", False),
    ("anonymous", 302, "/login", False),
]


@pytest.mark.parametrize(("case", "status", "goes_to", "made"), _START_CASES)
def test_who_may_start_a_quiz(app, trainee, questions, case, status, goes_to, made):
    session = make_session()
    quiz = make_quiz(questions, session=session)
    if case != "not in the session":
        make_enrollment(session, trainee.member)
    user = trainee
    if case.startswith("an organizer"):
        member = make_member() if "with a member" in case else None
        user = make_user(roles={Role.ORGANIZER}, member=member)
    if "draft" in case:
        quiz.status = QuizStatus.DRAFT
    client = app.test_client()
    if case != "anonymous":
        login(client, user)
    if case == "signed out elsewhere":
        trainee.end_sessions()
    elif case == "password change due":
        trainee.must_change_password = True
    db.session.flush()
    url = "/quizzes/999999/start" if case == "no such quiz" else f"/quizzes/{quiz.id}/start"
    response = client.post(url)
    assert response.status_code == status, case
    if goes_to:
        assert goes_to in response.location, (case, response.location)
    if case == "not in the session":
        assert "您未参加本期培训，不能参加此测试。" in response.get_data(as_text=True)
    made_now = db.session.scalar(sa.select(sa.func.count(Attempt.id)))
    assert made_now == (1 if made else 0), case


def test_a_start_after_the_time_ran_out_finishes_that_attempt_and_begins_the_next(
    client, trainee, questions
):
    quiz = make_quiz(questions, time_limit_minutes=10, max_attempts=2)
    login(client, trainee)
    first = _start(client, quiz)
    assert _start(client, quiz) is first  # resumed while its time runs
    first.deadline = utcnow() - timedelta(seconds=1)
    db.session.flush()
    second = _start(client, quiz)
    assert second is not first and second.number == 2
    assert first.status is AttemptStatus.TIMED_OUT and first.score == 0
    first_of_another = _start(client, make_quiz(questions))
    assert first_of_another.number == 1


# Who opens which question page, and what they get: (case, status, where a redirect goes).
_PAGE_CASES = [
    ("own", 200, None),
    ("own, no such question", 404, None),
    ("own, submitted", 302, "/result"),
    ("own, time up", 302, "/result"),
    ("no such attempt", 404, None),
    ("another member", 403, None),
    ("an organizer without a member", 403, None),
    ("signed out elsewhere", 302, "/login"),
    ("disabled", 302, "/login"),
    ("password change due", 302, "/account/password"),
    ("anonymous", 302, "/login"),
]


@pytest.mark.parametrize(("case", "status", "goes_to"), _PAGE_CASES)
def test_who_gets_a_question_page(app, trainee, questions, case, status, goes_to):
    quiz = make_quiz(questions, time_limit_minutes=10)
    client = app.test_client()
    login(client, trainee)
    attempt = _start(client, quiz)
    url = f"/quizzes/attempts/{attempt.id}?q=1"
    if case == "own, no such question":
        url = f"/quizzes/attempts/{attempt.id}?q={len(questions) + 1}"
    elif case == "own, submitted":
        attempts.finish_attempt(attempt, AttemptStatus.SUBMITTED)
    elif case == "own, time up":
        attempt.deadline = utcnow() - timedelta(seconds=1)
    elif case == "no such attempt":
        url = "/quizzes/attempts/999999?q=1"
    elif case == "another member":
        login(client, make_user(roles={Role.TRAINEE}, member=make_member()))
    elif case == "an organizer without a member":
        login(client, make_user(roles={Role.ORGANIZER}))
    elif case == "signed out elsewhere":
        trainee.end_sessions()
    elif case == "disabled":
        trainee.active = False
    elif case == "password change due":
        trainee.must_change_password = True
    elif case == "anonymous":
        client = app.test_client()
    db.session.flush()
    response = client.get(url)
    assert response.status_code == status, case
    if goes_to:
        assert goes_to in response.location, (case, response.location)
    if goes_to == "/result":  # which finishes and grades an attempt whose time is up
        assert client.get(response.location).status_code == 200
    db.session.refresh(attempt)
    expected = {
        "own, submitted": AttemptStatus.SUBMITTED,
        "own, time up": AttemptStatus.TIMED_OUT,
    }.get(case, AttemptStatus.IN_PROGRESS)
    assert attempt.status is expected, case


# Answers of every form a client could send: well formed or not, for any question type.
_ANY_ANSWER = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "choices": st.lists(
                st.one_of(st.integers(-2, 5), st.booleans(), st.integers(2**31 - 2, 2**64)),
                max_size=4,
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "blanks": st.lists(
                st.one_of(st.sampled_from(["", " ", "共产主义", "a\x00b", "长" * 201]), st.text()),
                max_size=3,
            )
        }
    ),
    st.fixed_dictionaries(
        {"choices": st.lists(st.integers(0, 3), max_size=2), "blanks": st.lists(st.text())}
    ),
    st.dictionaries(st.sampled_from(["choices", "blanks", "x"]), st.integers() | st.text()),
    st.integers() | st.text() | st.lists(st.integers(), max_size=2),
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(saves=st.lists(st.tuples(st.integers(0, 5), _ANY_ANSWER), min_size=1, max_size=6))
def test_an_autosave_in_one_statement_agrees_with_the_step_by_step_check(questions, saves):
    """The account's autosave tries one statement first (`_write_if_allowed`), and checks step
    by step only when that wrote nothing; a save without an account always goes step by step.
    Two trainees in the same quiz send the same saves: they are stored or refused alike."""
    quiz = make_quiz(questions, shuffle_questions=False, shuffle_options=False)
    fast, slow = (make_user(roles={Role.TRAINEE}, member=make_member()) for _ in range(2))
    account = SessionAccount(fast.id, fast.session_token)
    started = [attempts.start_attempt(quiz, user.member) for user in (fast, slow)]
    for seq, (position, answer) in enumerate(saves, start=1):
        outcomes = []
        for attempt, kwargs in (
            (started[0], {"account": account}),
            (started[1], {"member_id": slow.member_id}),
        ):
            try:
                saved = attempts.save_answer(attempt.id, position, answer, seq, **kwargs)
                outcomes.append(("saved", saved.seq, saved.applied))
            except attempts.AttemptRefused as refused:
                outcomes.append(("refused", refused.message, refused.status))
        assert outcomes[0] == outcomes[1], (position, answer, outcomes)
    db.session.expire_all()
    stored = [[(q.response, q.saved_seq) for q in attempt.questions] for attempt in started]
    assert stored[0] == stored[1]


def test_an_autosave_in_one_statement_still_refuses_what_the_checks_refuse(
    client, trainee, questions
):
    quiz = make_quiz(questions, shuffle_questions=False, shuffle_options=False)
    login(client, trainee)
    attempt = _start(client, quiz)
    # A choice out of range, two choices for a single-choice question, a blank too many.
    for position, answer, message in (
        (1, {"choices": [4]}, "所选的选项不存在。"),
        (1, {"choices": [0, 1]}, "这道题只能选一个答案。"),
        (3, {"choices": [2]}, "所选的选项不存在。"),
        (4, {"blanks": ["共产主义", "二"]}, "填空的数量与题目不符。"),
        (4, {"choices": [0]}, "答案的格式不正确。"),
        # Larger than any database integer: refused, never a database error.
        (2, {"choices": [2**31]}, "所选的选项不存在。"),
        (2, {"choices": [0, 2**70]}, "所选的选项不存在。"),
    ):
        reply = _save(client, attempt, position, answer, seq=1)
        assert (reply.status_code, reply.json["message"]) == (400, message)
    assert _unanswered(attempt)
    assert _save(client, attempt, 2, {"choices": [2, 0]}, seq=1).json["ok"]
    db.session.expire_all()
    assert attempt.questions[1].response == {"choices": [0, 2]}
