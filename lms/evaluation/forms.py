"""The trainee's evaluation form (three 1–5 scores per lesson attended, plus the session
overall and a comment) and the admin's names setting."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, ValidationError

from lms.evaluation.models import COMMENT_LENGTH, LESSON_COMMENT_LENGTH, MAX_SCORE, MIN_SCORE
from lms.evaluation.services import Aspect, LessonScores
from lms.forms import choices
from lms.sessions.models import Lesson
from lms.text import text_problem

SCORES = range(MIN_SCORE, MAX_SCORE + 1)


class ScoreField(RadioField):
    """A 1–5 score as five radio buttons; anything else is refused with a clear message."""

    def __init__(self, label=None, **kwargs) -> None:
        super().__init__(
            label,
            choices=choices((n, str(n)) for n in SCORES),
            coerce=int,
            validate_choice=False,
            validators=[InputRequired(message=_l("请打分（1–5 分）。"))],
            **kwargs,
        )

    def process_formdata(self, valuelist) -> None:
        self.data = None
        if valuelist:
            try:
                self.data = int(valuelist[0])
            except ValueError:
                self.data = None

    def pre_validate(self, form) -> None:
        if self.raw_data and self.data not in SCORES:
            raise ValidationError(_("分数须为 1 到 5 的整数。"))


class PlainText:
    """Plain text (shown escaped, never as HTML) of at most `length` characters."""

    def __init__(self, length: int) -> None:
        self.length = length

    def __call__(self, form, field) -> None:
        if problem := text_problem(str(field.label.text), field.data or "", self.length, True):
            raise ValidationError(problem)


class EvaluationForm(FlaskForm):
    overall = ScoreField(_l("本期培训总体评价"))
    comment = TextAreaField(
        _l("意见和建议（选填）"),
        validators=[PlainText(COMMENT_LENGTH)],
        render_kw={"maxlength": COMMENT_LENGTH, "rows": 3},
    )
    submit = SubmitField(_l("提交评估"))

    lessons: Sequence[Lesson] = ()

    def lesson_field(self, lesson: Lesson, aspect: str):
        return self[f"l{lesson.id}_{aspect}"]

    def lesson_scores(self) -> list[LessonScores]:
        return [
            LessonScores(
                lesson_id=lesson.id,
                **{aspect: self.lesson_field(lesson, aspect).data for aspect in Aspect},
                comment=self.lesson_field(lesson, "comment").data or "",
            )
            for lesson in self.lessons
        ]


def field_prefix(lesson_id: int) -> str:
    return f"l{lesson_id}_"


def evaluation_form(lessons: Sequence[Lesson]) -> EvaluationForm:
    """The form for these lessons: fields l<id>_content, l<id>_lecturer, l<id>_usefulness and
    l<id>_comment per lesson."""
    fields: dict[str, object] = {"lessons": list(lessons)}
    for lesson in lessons:
        for aspect in Aspect:
            fields[f"{field_prefix(lesson.id)}{aspect}"] = ScoreField(aspect.lazy_label)
        fields[f"{field_prefix(lesson.id)}comment"] = TextAreaField(
            _l("对本课的意见（选填）"),
            validators=[PlainText(LESSON_COMMENT_LENGTH)],
            render_kw={"maxlength": LESSON_COMMENT_LENGTH, "rows": 2},
        )
    form_class = type("LessonsEvaluationForm", (EvaluationForm,), fields)
    return form_class()


class NamesSettingForm(FlaskForm):
    show_names = BooleanField(_l("评估结果对组织者显示姓名"))
    submit = SubmitField(_l("保存"))
