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
