"""Quiz pages, one module per idea: question banks and questions (authoring), quizzes and their
items (setup), taking a quiz and the wrong-answer book (taking), statistics. Every URL of the
`quizzes` blueprint is here."""

from flask import Blueprint

from lms.quizzes.views import authoring, quiz_setup, statistics, taking

bp = Blueprint("quizzes", __name__, url_prefix="/quizzes")

ROUTES = [
    ("/banks/", authoring.banks, ["GET"]),
    ("/banks/new", authoring.create_bank, ["GET", "POST"]),
    ("/banks/<int:bank_id>/edit", authoring.edit_bank, ["GET", "POST"]),
    ("/banks/<int:bank_id>", authoring.bank, ["GET"]),
    ("/banks/<int:bank_id>/questions/new", authoring.create_question, ["GET", "POST"]),
    ("/questions/<int:question_id>/edit", authoring.edit_question, ["GET", "POST"]),
    ("/questions/<int:question_id>", authoring.preview_question, ["GET"]),
    ("/questions/<int:question_id>/archive", authoring.archive_question, ["POST"]),
    ("/questions/<int:question_id>/regrade", authoring.regrade_question, ["POST"]),
    ("/banks/<int:bank_id>/import", authoring.import_questions, ["GET", "POST"]),
    ("/banks/<int:bank_id>/export.xlsx", authoring.export_xlsx, ["GET"]),
    ("/banks/<int:bank_id>/export.gift", authoring.export_gift, ["GET"]),
    ("/import-template.xlsx", authoring.import_template, ["GET"]),
    ("/", quiz_setup.index, ["GET"]),
    ("/new", quiz_setup.create_quiz, ["GET", "POST"]),
    ("/<int:quiz_id>/edit", quiz_setup.edit_quiz, ["GET", "POST"]),
    ("/<int:quiz_id>", quiz_setup.quiz, ["GET"]),
    ("/<int:quiz_id>/status", quiz_setup.set_quiz_status, ["POST"]),
    ("/<int:quiz_id>/items", quiz_setup.add_items, ["POST"]),
    ("/<int:quiz_id>/items/<int:item_id>/delete", quiz_setup.delete_item, ["POST"]),
    ("/<int:quiz_id>/draws", quiz_setup.add_draw, ["POST"]),
    ("/<int:quiz_id>/draws/<int:draw_id>/delete", quiz_setup.delete_draw, ["POST"]),
    ("/<int:quiz_id>/start", taking.start, ["POST"]),
    ("/attempts/<int:attempt_id>", taking.take, ["GET"]),
    ("/attempts/<int:attempt_id>/q/<int:position>", taking.answer_and_go, ["POST"]),
    ("/attempts/<int:attempt_id>/answer", taking.autosave, ["POST"]),
    ("/attempts/<int:attempt_id>/submit", taking.submit, ["POST"]),
    ("/attempts/<int:attempt_id>/result", taking.result, ["GET"]),
    ("/wrong-book", taking.wrong_book, ["GET"]),
    ("/wrong-book/practice", taking.wrong_book_practice, ["POST"]),
    ("/<int:quiz_id>/stats", statistics.quiz_stats, ["GET"]),
    ("/<int:quiz_id>/stats.xlsx", statistics.quiz_stats_xlsx, ["GET"]),
]
for rule, view, methods in ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
