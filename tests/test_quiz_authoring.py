"""Question banks: who authors where, versioning once used, key corrections and regrading,
web import all-or-nothing and idempotent, and quiz statistics."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import openpyxl
import pytest
import sqlalchemy as sa

from lms.audit.models import AuditLog
from lms.auth.models import Role
from lms.extensions import db
from lms.quizzes import attempts, stats
from lms.quizzes.formats.sheet import template_sheet
from lms.quizzes.models import (
    AttemptStatus,
    CountingRule,
    Feedback,
    Question,
    QuestionCategory,
    QuestionVersion,
)
from lms.quizzes.questions import QuestionData, QuestionType
from tests.conftest import login
from tests.factories import make_bank, make_member, make_question, make_quiz, make_user


def _question_form(**fields):
    data = {
        "stem": "党员的预备期为____年。",
        "blanks": "一 / 1",
        "explanation": "党章第一章第七条。",
        "source": "《中国共产党章程》第一章第七条",
        "difficulty": "1",
        "tags": "党员, 预备期",
        "category": "中国共产党章程/第一章 党员",
        "ref": "ZC-T1",
    }
    data.update(fields)
    return data


def test_lecturers_author_only_in_their_banks(client):
    lecturer = make_user(roles={Role.LECTURER})
    mine, other = make_bank(authors=[lecturer]), make_bank()
    login(client, lecturer)
    html = client.get("/quizzes/banks/").get_data(as_text=True)
    assert mine.name in html and other.name not in html
    url = "/quizzes/banks/{}/questions/new?type=fill_blank"
    assert client.post(url.format(mine.id), data=_question_form()).status_code == 302
    assert client.post(url.format(other.id), data=_question_form(ref="X")).status_code == 403
    question = db.session.scalar(sa.select(Question))
    assert question.bank_id == mine.id and question.category.path == "中国共产党章程/第一章 党员"
    version = question.current
    assert version.blanks == [["一", "1"]] and version.tags == ["党员", "预备期"]


@pytest.mark.parametrize(
    ("qtype", "fields", "message"),
    [
        ("single", {"option_a": "甲", "option_b": "乙", "correct": ["A", "B"]}, "有且只有一个"),
        ("single", {"option_a": "甲", "correct": ["A"]}, "2 到 8 个选项"),
        ("single", {"option_a": "甲", "option_b": "乙", "correct": ["C"]}, "不存在的选项"),
        ("multiple", {"option_a": "甲", "option_b": "甲", "correct": ["A"]}, "选项不能重复"),
        ("true_false", {}, "判断题的答案"),
        ("fill_blank", {"stem": "没有空格的题干"}, "____ 标出空格"),
        ("fill_blank", {"blanks": "一\n二"}, "1 个空格，但给出了 2 组答案"),
    ],
)
def test_bad_questions_are_refused_with_a_reason(client, qtype, fields, message):
    bank = make_bank()
    login(client, make_user(roles={Role.ORGANIZER}))
    data = _question_form(**fields)
    response = client.post(f"/quizzes/banks/{bank.id}/questions/new?type={qtype}", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == 0


def test_unknown_question_type_is_a_404(client):
    bank = make_bank()
    login(client, make_user(roles={Role.ORGANIZER}))
    assert client.get(f"/quizzes/banks/{bank.id}/questions/new?type=essay").status_code == 404


def test_editing_an_unused_question_changes_it_in_place(client):
    question = make_question(type=QuestionType.TRUE_FALSE, correct=[0])
    login(client, make_user(roles={Role.ORGANIZER}))
    client.post(
        f"/quizzes/questions/{question.id}/edit",
        data={"stem": "改过的题干", "truth": "false", "difficulty": "2"},
    )
    assert [v.number for v in question.versions] == [1]
    assert question.current.stem == "改过的题干" and question.current.correct == [1]


def test_the_exclusive_group_is_the_questions_own_and_survives_edits(client):
    question = make_question(type=QuestionType.TRUE_FALSE, correct=[0], stem="题干")
    attempts.start_attempt(make_quiz([question]), make_member())  # the version is in use
    login(client, make_user(roles={Role.ORGANIZER}))
    url = f"/quizzes/questions/{question.id}/edit"
    version = question.current
    form = {"stem": "题干", "truth": "true", "difficulty": "2", "ref": question.ref}
    form |= {"explanation": version.explanation, "source": version.source}
    assert client.post(url, data={**form, "exclusive_group": " zc-ideal "}).status_code == 302
    # A group belongs to the question, not to what an attempt saw: no new version for it.
    assert question.exclusive_group == "zc-ideal" and [v.number for v in question.versions] == [1]
    assert 'value="zc-ideal"' in client.get(url).get_data(as_text=True)
    changed = {**form, "stem": "新题干", "exclusive_group": "zc-ideal"}
    assert client.post(url, data=changed).status_code == 302
    assert question.exclusive_group == "zc-ideal"
    assert [v.number for v in question.versions] == [2, 1]
    assert client.post(url, data={**changed, "exclusive_group": ""}).status_code == 302
    assert question.exclusive_group is None


def test_a_used_question_gets_a_new_version_and_old_attempts_keep_theirs(client):
    question = make_question(type=QuestionType.TRUE_FALSE, correct=[0], stem="旧题干")
    member = make_member()
    quiz = make_quiz([question])
    attempt = attempts.start_attempt(quiz, member)
    attempts.save_answer(attempt, 1, {"choices": [1]})
    attempts.finish_attempt(attempt, AttemptStatus.SUBMITTED)
    assert attempt.score == 0

    login(client, make_user(roles={Role.ORGANIZER}))
    response = client.post(
        f"/quizzes/questions/{question.id}/edit",
        data={"stem": "旧题干", "truth": "false", "difficulty": "2", "ref": question.ref},
    )
    assert response.status_code == 302
    assert [v.number for v in question.versions] == [2, 1]
    assert attempt.questions[0].version.number == 1  # the attempt keeps what it saw
    entry = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == "question.versioned")
    ).one()
    assert entry.details["key_changed"] is True

    # The key was corrected: regrade the attempts that used the old version.
    response = client.post(f"/quizzes/questions/{question.id}/regrade")
    assert response.status_code == 302
    db.session.refresh(attempt)
    assert attempt.score == 1
    regraded = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == "question.regraded")
    ).one()
    assert regraded.details == {"version": 2, "answers": 1, "attempts": 1}
    # Regrading twice changes nothing more.
    client.post(f"/quizzes/questions/{question.id}/regrade")
    db.session.refresh(attempt)
    assert attempt.score == 1


def test_preview_shows_the_question_as_a_trainee_sees_it(client):
    question = make_question(options=["十六", "十八"], correct=[1], explanation="解析")
    login(client, make_user(roles={Role.ORGANIZER}))
    html = client.get(f"/quizzes/questions/{question.id}").get_data(as_text=True)
    assert "学员看到的样子" in html and "十八" in html and 'type="radio"' in html


def _sheet(rows) -> io.BytesIO:
    workbook = openpyxl.load_workbook(io.BytesIO(template_sheet()))
    sheet = workbook.active
    header = [c.value for c in sheet[1]]
    sheet.delete_rows(2, sheet.max_row)
    for row in rows:
        sheet.append([row.get(name, "") for name in header])
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    return out


GOOD_ROWS = [
    {
        "编号": "IM-1",
        "题型": "单选",
        "题干": "党员年满几岁？",
        "选项A": "十六",
        "选项B": "十八",
        "答案": "B",
        "出处": "《中国共产党章程》第一条",
        "难度": 1,
        "分类": "党章",
    },
    {
        "编号": "IM-2",
        "题型": "判断",
        "题干": "预备期为一年。",
        "答案": "正确",
        "出处": "党章第七条",
    },
]


def _import(client, bank, stream, kind="xlsx", name="题目.xlsx"):
    return client.post(
        f"/quizzes/banks/{bank.id}/import",
        data={"format": kind, "file": (stream, name)},
        content_type="multipart/form-data",
    )


def test_web_import_is_all_or_nothing_and_idempotent(client):
    bank = make_bank()
    login(client, make_user(roles={Role.ORGANIZER}))
    bad = [*GOOD_ROWS, {"编号": "IM-3", "题型": "单选", "题干": "坏题", "选项A": "甲", "答案": "Z"}]
    html = _import(client, bank, _sheet(bad)).get_data(as_text=True)
    assert "没有导入任何题目" in html and "第 4 行" in html
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == 0

    html = _import(client, bank, _sheet(GOOD_ROWS)).get_data(as_text=True)
    assert "新增 2 题" in html
    html = _import(client, bank, _sheet(GOOD_ROWS)).get_data(as_text=True)
    assert "新增 0 题" in html and "2 题没有变化" in html
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == 2


def test_export_then_import_round_trips(client):
    bank = make_bank()
    make_question(bank, type=QuestionType.MULTIPLE, category="条例/六项纪律")
    make_question(bank, type=QuestionType.FILL_BLANK, blanks=[["共产主义", "communism"]])
    make_question(bank, type=QuestionType.TRUE_FALSE)
    login(client, make_user(roles={Role.ORGANIZER}))
    for path, kind, name in [("export.xlsx", "xlsx", "a.xlsx"), ("export.gift", "gift", "a.txt")]:
        exported = client.get(f"/quizzes/banks/{bank.id}/{path}").data
        copy = make_bank()
        html = _import(client, copy, io.BytesIO(exported), kind, name).get_data(as_text=True)
        assert "新增 3 题" in html, html[-2000:]
        from lms.quizzes.services import export_questions

        assert export_questions(copy) == export_questions(bank)


def test_gb18030_gift_and_undecodable_files(client):
    bank = make_bank()
    login(client, make_user(roles={Role.ORGANIZER}))
    gift = "::G1:: 党的最高理想是实现{=共产主义}。\n".encode("gb18030")
    assert "新增 1 题" in _import(client, bank, io.BytesIO(gift), "gift", "a.txt").get_data(
        as_text=True
    )
    html = _import(client, bank, io.BytesIO(b"\xff\xfe\x00\xd8"), "aiken", "a.txt").get_data(
        as_text=True
    )
    assert "不是 UTF-8 或 GB18030" in html


def test_statistics_facility_discrimination_and_options(client):
    q1 = make_question(correct=[1])  # everyone right
    q2 = make_question(correct=[1])  # only the strong right
    quiz = make_quiz([q1, q2])
    answers = [([1], [1]), ([1], [1]), ([1], [0]), ([1], [2])]
    for first, second in answers:
        attempt = attempts.start_attempt(quiz, make_member())
        attempts.save_answer(attempt, 1, {"choices": first})
        attempts.save_answer(attempt, 2, {"choices": second})
        attempts.finish_attempt(attempt, AttemptStatus.SUBMITTED)
    report = stats.quiz_report(quiz)
    by_id = {q.question_id: q for q in report.questions}
    assert by_id[q1.id].facility == 1 and by_id[q1.id].discrimination == 0
    assert by_id[q2.id].facility == 0.5 and by_id[q2.id].discrimination == 1
    assert by_id[q2.id].option_counts == {1: 2, 0: 1, 2: 1}
    assert report.pass_rate == 50 and report.mean == 75
    assert report.bins[5] == 2 and report.bins[9] == 2

    login(client, make_user(roles={Role.ORGANIZER}))
    html = client.get(f"/quizzes/{quiz.id}/stats").get_data(as_text=True)
    assert html.count("<rect") == 10
    # the mean and the pass rate read as percentages, in the user's locale
    assert '<div class="stat">75.0%</div>' in html and '<div class="stat">50.0%</div>' in html
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"/quizzes/{quiz.id}/stats.xlsx").data))
    assert workbook.sheetnames == ["成绩", "题目分析"]
    assert workbook["成绩"].max_row == 5


def test_question_versions_are_kept_in_the_database():
    question = make_question(correct=[1])
    from lms.quizzes.services import save_question

    data = question.current.data(ref=question.ref)
    attempts.start_attempt(make_quiz([question]), make_member())
    save_question(question.bank, QuestionData(**{**data.__dict__, "correct": [2]}), None, question)
    assert (
        db.session.scalar(
            sa.select(sa.func.count(QuestionVersion.id)).where(
                QuestionVersion.question_id == question.id
            )
        )
        == 2
    )


@pytest.mark.parametrize("page", [1, 2])
def test_a_bank_of_more_than_one_page_keeps_its_id_in_the_pager(client, page):
    organizer = make_user(roles={Role.ORGANIZER})
    bank = make_bank()
    for _ in range(51):
        make_question(bank)
    login(client, organizer)
    response = client.get(f"/quizzes/banks/{bank.id}?page={page}")
    assert response.status_code == 200
    other = 2 if page == 1 else 1
    html = response.get_data(as_text=True)
    assert f"/quizzes/banks/{bank.id}?page={other}" in html
    # The new-question menu offers every type by its label.
    assert f"/quizzes/banks/{bank.id}/questions/new?type=fill_blank" in html and "填空题" in html


# --- the form and the imports share one validation -------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"stem": "党员的预备期为\x07____年。"}, "题干含有不允许的不可见字符（U+0007）"),
        ({"source": "《党章》\u202e第七条"}, "出处含有不允许的不可见字符（U+202E）"),
        ({"tags": ",".join(f"标签{i}" for i in range(21))}, "标签太多（最多 20 个）"),
        ({"tags": "签" * 33}, "标签太长（最多 32 个字符）"),
        ({"blanks": "一\u200b"}, "填空答案含有不允许的不可见字符（U+200B）"),
        ({"category": "/".join("abcdefghi")}, "分类层级太多（最多 8 级）"),
        ({"category": "党章/" + "名" * 65}, "分类名称太长（最多 64 个字符）"),
    ],
)
def test_the_form_refuses_what_imports_refuse(client, fields, message):
    bank = make_bank()
    login(client, make_user(roles={Role.ORGANIZER}))
    url = f"/quizzes/banks/{bank.id}/questions/new?type=fill_blank"
    response = client.post(url, data=_question_form(**fields))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == 0


def test_web_import_of_hostile_gift_changes_nothing(client):
    bank = make_bank()
    login(client, make_user(roles={Role.ORGANIZER}))
    private = "".join(chr(c) for c in range(0xE000, 0xF900))
    deep = "/".join(f"c{i}" for i in range(3000))
    gift = f"// {private}\n\n$CATEGORY: {deep}\n\n题{{T}}\n".encode()
    response = _import(client, bank, io.BytesIO(gift), "gift", "a.txt")
    assert response.status_code == 200
    assert "分类层级太多（最多 8 级）" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(QuestionCategory.id))) == 0


def test_the_draw_select_lists_one_banks_categories(client):
    first, second = make_bank("A 党章题库"), make_bank("B 条例题库")
    make_question(first, category="党章/总纲")
    make_question(second, category="条例/六项纪律")
    quiz = make_quiz()
    login(client, make_user(roles={Role.ORGANIZER}))
    html = client.get(f"/quizzes/{quiz.id}").get_data(as_text=True)
    assert ">党章/总纲</option>" in html and "六项纪律" not in html
    html = client.get(f"/quizzes/{quiz.id}?draw_bank={second.id}").get_data(as_text=True)
    assert ">条例/六项纪律</option>" in html and "党章/总纲" not in html
    category = db.session.scalar(
        sa.select(QuestionCategory).where(QuestionCategory.name == "六项纪律")
    )
    response = client.post(
        f"/quizzes/{quiz.id}/draws",
        data={"draw-category_id": str(category.id), "draw-count": "1", "draw-points": "1"},
    )
    assert response.status_code == 302
    db.session.refresh(quiz)
    assert [(d.bank_id, d.category_id) for d in quiz.draws] == [(second.id, category.id)]


@pytest.mark.parametrize(
    ("opens", "closes"),
    [("0001-01-01T00:00", ""), ("", "9999-12-31T23:59"), ("0001-01-01T00:00", "9999-12-31T23:59")],
)
def test_a_quiz_window_at_the_ends_of_the_calendar_is_refused_clearly(client, opens, closes):
    quiz = make_quiz([make_question()])
    login(client, make_user(roles={Role.ORGANIZER}))
    response = client.post(
        f"/quizzes/{quiz.id}/edit",
        data={
            "title": "边界测验",
            "home": f"course:{quiz.course_id}",
            "time_limit_minutes": "30",
            "opens_at": opens,
            "closes_at": closes,
            "max_attempts": "1",
            "pass_mark": "80",
            "counting": "highest",
            "feedback": "immediate",
        },
    )
    assert response.status_code == 200
    assert "时间须在 2000 年至 2100 年之间。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert quiz.title != "边界测验" and quiz.opens_at is None and quiz.closes_at is None


def test_a_quiz_window_is_typed_in_the_plants_time_and_kept_in_utc(client):
    quiz = make_quiz([make_question()])
    login(client, make_user(roles={Role.ORGANIZER}))
    response = client.post(
        f"/quizzes/{quiz.id}/edit",
        data={
            "title": "三月测验",
            "home": f"course:{quiz.course_id}",
            "time_limit_minutes": "30",
            "opens_at": "2026-03-01T08:30",
            "closes_at": "2026-03-01T00:15",
            "max_attempts": "1",
            "pass_mark": "80",
            "counting": "last",
            "feedback": "never",
        },
    )
    assert "关闭时间须晚于开放时间。" in response.get_data(as_text=True)  # compared as instants
    response = client.post(
        f"/quizzes/{quiz.id}/edit",
        data={
            "title": "三月测验",
            "home": f"course:{quiz.course_id}",
            "time_limit_minutes": "30",
            "opens_at": "2026-03-01T08:30",
            "closes_at": "2026-03-02T00:15",
            "max_attempts": "1",
            "pass_mark": "80",
            "counting": "last",
            "feedback": "never",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert quiz.opens_at == datetime(2026, 3, 1, 0, 30, tzinfo=UTC)  # Asia/Shanghai is UTC+8
    assert quiz.closes_at == datetime(2026, 3, 1, 16, 15, tzinfo=UTC)
    assert quiz.counting is CountingRule.LAST and quiz.feedback is Feedback.NEVER
    html = client.get(f"/quizzes/{quiz.id}/edit").get_data(as_text=True)
    assert 'value="2026-03-01 08:30:00"' in html and 'value="2026-03-02 00:15:00"' in html
    assert '<option selected value="last">' in html
