"""The shipped question bank and demo quizzes: enough questions, every one sourced, loads twice
without change, and a bad file names the file, the question and the reason."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.content import ContentError, load_questions
from lms.extensions import db
from lms.paths import shipped
from lms.quizzes.bankfile import read_bank_file
from lms.quizzes.models import Question, Quiz
from lms.quizzes.questions import QuestionType

DOCUMENTS = {
    "中国共产党章程",
    "中国共产党纪律处分条例",
    "关于新形势下党内政治生活的若干准则",
    "中国共产党廉洁自律准则",
    "中国共产党党员教育管理工作条例",
    "中华人民共和国安全生产法",
}


def test_shipped_bank_covers_every_document_with_sourced_questions():
    questions = [
        q
        for path in sorted((shipped("content") / "questions").glob("*.yaml"))
        for q in read_bank_file(path).questions
    ]
    assert len(questions) >= 120
    assert {q.category.split("/")[0] for q in questions} == DOCUMENTS
    assert all(q.source and q.explanation for q in questions)
    assert {q.type for q in questions} == set(QuestionType)
    assert len({q.ref for q in questions}) == len(questions)
    # Every cited source names its document.
    for q in questions:
        document = q.category.split("/")[0]
        assert document.replace("中华人民共和国", "") in q.source, (q.ref, q.source)


def test_loading_twice_changes_nothing(runner):
    first = runner.invoke(args=["content", "load", "--quiet"])
    assert first.exit_code == 0, first.output
    count = db.session.scalar(sa.select(sa.func.count(Question.id)))
    assert count >= 120
    second = runner.invoke(args=["content", "load", "--quiet"])
    assert "questions: 0 new, 0 updated" in second.output
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == count
    quizzes = db.session.scalars(sa.select(Quiz).order_by(Quiz.id)).all()
    assert [q.title for q in quizzes] == ["2026年第11期结业测试", "党章党规每日一练"]
    assert sum(d.count for d in quizzes[0].draws) == 20


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "bank: 题库\nquestions:\n  - {ref: X1, type: single, stem: 题, options: [甲, 乙], "
            "answer: C, source: 党章}\n",
            "answer: letters among AB",
        ),
        ("bank: 题库\nquestions:\n  - {ref: X1, type: essay, stem: 题, source: 党章}\n", "X1"),
        (
            "bank: 题库\nquestions:\n  - {ref: X1, type: true_false, stem: 题, answer: 正确}\n",
            "field 'source' is required",
        ),
        (
            "bank: 题库\nquestions:\n"
            "  - {type: true_false, stem: 题, answer: 正确, source: 党章}\n",
            "field 'ref' is required",
        ),
        ("questions: []\n", "field 'bank' is required"),
    ],
)
def test_a_bad_bank_file_names_file_question_and_reason(tmp_path: Path, body, reason):
    (tmp_path / "good.yaml").write_text(
        "bank: 题库\nquestions:\n  - {ref: G1, type: true_false, stem: 好题, answer: 正确, "
        "source: 党章}\n",
        encoding="utf-8",
    )
    (tmp_path / "bad.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(ContentError) as error:
        load_questions(tmp_path)
    assert "bad.yaml" in str(error.value) and reason in str(error.value)
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == 0  # not even good.yaml


def _shipped_questions() -> dict:
    return {
        q.ref: q
        for path in sorted((shipped("content") / "questions").glob("*.yaml"))
        for q in read_bank_file(path).questions
    }


def test_discipline_questions_cite_the_article_that_lists_the_five_kinds():
    questions = _shipped_questions()
    for ref in ("ZC-036", "ZC-037", "ZC-038"):
        q = questions[ref]
        assert "第四十一条" in q.source and "第四十二条" not in q.source, ref
        assert "第四十二条" not in q.explanation, ref
    assert "对党员的纪律处分有五种" in questions["ZC-036"].explanation


def test_regulation_questions_use_the_2023_wording():
    questions = _shipped_questions()
    jl7, jl8, jl12, zc34 = (questions[r] for r in ("JL-007", "JL-008", "JL-012", "ZC-034"))
    assert "上一级党的委员会在查明核实后" in jl7.stem and "第九条" in jl7.source
    assert "不得在党内提拔职务或者进一步使用" in jl8.stem and "第十条" in jl8.source
    assert "受到严重警告处分一年半内" in jl8.explanation and "提升职务" not in jl8.explanation
    # extension of probation (one year, not yet fit to be restored) is not expulsion
    assert "延长一年留党察看期限" in jl12.explanation and "应当开除党籍" in jl12.explanation
    whole = "发挥领导作用，把方向、管大局、保落实，依照规定讨论和决定企业重大事项"
    assert whole in zc34.explanation and "第三十三条" in zc34.explanation
    assert "第三十三条" in zc34.source
    assert zc34.options[zc34.correct[0]] == "管大局" and "保落实" in zc34.stem
