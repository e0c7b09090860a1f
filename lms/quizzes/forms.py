"""Bank, question, quiz and import forms."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lms.forms import (
    CheckboxesField,
    EditForm,
    EnumSelectField,
    LocalDateTimeField,
    RequiredFileField,
    Unique,
    choices,
    int_or_none,
)
from lms.quizzes.models import CountingRule, Feedback, QuestionBank
from lms.quizzes.questions import (
    LETTERS,
    MAX_CATEGORY_PATH,
    MAX_EXPLANATION,
    MAX_OPTION,
    MAX_OPTIONS,
    MAX_REF,
    MAX_SOURCE,
    MAX_STEM,
    QuestionData,
    QuestionType,
)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


DIFFICULTY_CHOICES = [(1, _l("1 容易")), (2, _l("2 中等")), (3, _l("3 较难"))]


class BankForm(EditForm):
    name = StringField(
        _l("题库名称"),
        validators=[
            DataRequired(),
            Length(max=64),
            Unique(QuestionBank.name, _l("该题库已存在。")),
        ],
        filters=[_strip],
    )
    description = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])
    author_ids = CheckboxesField(_l("可编写题目的讲师"), coerce=int)
    submit = SubmitField(_l("保存"))


class QuestionForm(FlaskForm):
    stem = TextAreaField(
        _l("题干"),
        validators=[DataRequired(), Length(max=MAX_STEM)],
        description=_l("填空题用 ____（四条下划线）标出每个空。"),
    )
    option_a = StringField("A", validators=[Optional(), Length(max=MAX_OPTION)], filters=[_strip])
    option_b = StringField("B", validators=[Optional(), Length(max=MAX_OPTION)], filters=[_strip])
    option_c = StringField("C", validators=[Optional(), Length(max=MAX_OPTION)], filters=[_strip])
    option_d = StringField("D", validators=[Optional(), Length(max=MAX_OPTION)], filters=[_strip])
    option_e = StringField("E", validators=[Optional(), Length(max=MAX_OPTION)], filters=[_strip])
    option_f = StringField("F", validators=[Optional(), Length(max=MAX_OPTION)], filters=[_strip])
    option_g = StringField("G", validators=[Optional(), Length(max=MAX_OPTION)], filters=[_strip])
    option_h = StringField("H", validators=[Optional(), Length(max=MAX_OPTION)], filters=[_strip])
    correct = CheckboxesField(
        _l("正确答案"), choices=choices((letter, letter) for letter in LETTERS[:MAX_OPTIONS])
    )
    truth = RadioField(
        _l("正确答案"),
        choices=choices([("true", _l("正确")), ("false", _l("错误"))]),
        validators=[Optional()],
    )
    blanks = TextAreaField(
        _l("各空的答案"),
        validators=[Optional(), Length(max=2000)],
        description=_l("每行一个空，按顺序；同一空的多个可接受答案用 / 分隔。"),
    )
    explanation = TextAreaField(_l("解析"), validators=[Optional(), Length(max=MAX_EXPLANATION)])
    source = StringField(
        _l("出处"),
        validators=[Optional(), Length(max=MAX_SOURCE)],
        filters=[_strip],
        description=_l("例如：《中国共产党章程》第一章第三条"),
    )
    difficulty = SelectField(_l("难度"), coerce=int, choices=choices(DIFFICULTY_CHOICES), default=2)
    tags = StringField(_l("标签"), validators=[Optional(), Length(max=200)], filters=[_strip])
    category = StringField(
        _l("分类"),
        validators=[Optional(), Length(max=MAX_CATEGORY_PATH)],
        filters=[_strip],
        description=_l("用 / 分隔多级分类，例如：中国共产党章程/第一章 党员"),
    )
    ref = StringField(_l("编号"), validators=[Optional(), Length(max=MAX_REF)], filters=[_strip])
    exclusive_group = StringField(
        _l("互斥组"),
        validators=[Optional(), Length(max=MAX_REF)],
        filters=[_strip],
        description=_l("可空；会相互泄露答案的题目填同一个组名，随机抽题时同一组只抽一道。"),
    )
    submit = SubmitField(_l("保存"))

    def option_fields(self):
        return [getattr(self, f"option_{letter.lower()}") for letter in LETTERS[:MAX_OPTIONS]]

    def load(self, q: QuestionData) -> None:
        for field, text in zip(self.option_fields(), q.options + [""] * MAX_OPTIONS, strict=False):
            field.data = text
        self.stem.data = q.stem
        self.correct.data = [LETTERS[i] for i in q.correct]
        self.truth.data = "true" if q.correct == [0] else "false"
        self.blanks.data = "\n".join(" / ".join(accepted) for accepted in q.blanks)
        self.explanation.data = q.explanation
        self.source.data = q.source
        self.difficulty.data = q.difficulty
        self.tags.data = ", ".join(q.tags)
        self.category.data = q.category
        self.ref.data = q.ref
        self.exclusive_group.data = q.exclusive_group or ""

    def question(self, qtype: QuestionType) -> QuestionData:
        options: list[str] = []
        correct: list[int] = []
        blanks: list[list[str]] = []
        if qtype in (QuestionType.SINGLE, QuestionType.MULTIPLE):
            filled = [(LETTERS[i], f.data) for i, f in enumerate(self.option_fields()) if f.data]
            options = [text for _letter, text in filled]
            letters = [letter for letter, _text in filled]
            # A ticked letter whose option is empty points nowhere: keep it so validation says so.
            correct = [
                letters.index(letter) if letter in letters else len(LETTERS)
                for letter in self.correct.data or []
            ]
        elif qtype is QuestionType.TRUE_FALSE:
            correct = [0] if self.truth.data == "true" else [1] if self.truth.data else []
        else:
            blanks = [
                [a.strip() for a in line.split("/") if a.strip()]
                for line in (self.blanks.data or "").splitlines()
                if line.strip()
            ]
        tags = [t.strip() for t in (self.tags.data or "").replace("，", ",").split(",")]
        return QuestionData(
            type=qtype,
            stem=(self.stem.data or "").strip(),
            options=options,
            correct=correct,
            blanks=blanks,
            explanation=(self.explanation.data or "").strip(),
            source=self.source.data or "",
            difficulty=self.difficulty.data or 2,
            tags=[t for t in tags if t],
            category=self.category.data or "",
            ref=self.ref.data or "",
            exclusive_group=self.exclusive_group.data or "",
        )


IMPORT_FORMATS = [("xlsx", "Excel (.xlsx)"), ("gift", "GIFT"), ("aiken", "Aiken")]


class ImportForm(FlaskForm):
    format = SelectField(_l("文件格式"), choices=choices(IMPORT_FORMATS), default="xlsx")
    file = RequiredFileField(_l("文件"))
    submit = SubmitField(_l("导入"))


class QuizForm(FlaskForm):
    title = StringField(
        _l("测试名称"), validators=[DataRequired(), Length(max=128)], filters=[_strip]
    )
    description = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])
    home = SelectField(_l("所属"), validators=[DataRequired()])
    time_limit_minutes = IntegerField(
        _l("限时（分钟）"),
        validators=[Optional(), NumberRange(min=1, max=600)],
        description=_l("留空则不限时"),
    )
    opens_at = LocalDateTimeField(_l("开放时间"), validators=[Optional()])
    closes_at = LocalDateTimeField(_l("关闭时间"), validators=[Optional()])
    max_attempts = IntegerField(
        _l("允许作答次数"),
        default=1,
        validators=[InputRequired(), NumberRange(min=0, max=100)],
        description=_l("0 表示不限次数"),
    )
    pass_mark = IntegerField(
        _l("及格线（%）"), default=80, validators=[InputRequired(), NumberRange(min=0, max=100)]
    )
    counting = EnumSelectField(_l("计分方式"), enum=CountingRule)
    feedback = EnumSelectField(_l("何时显示答案与解析"), enum=Feedback)
    practice = BooleanField(_l("练习模式（不计成绩）"))
    shuffle_questions = BooleanField(_l("打乱题目顺序"), default=True)
    shuffle_options = BooleanField(_l("打乱选项顺序"), default=True)
    partial_credit = BooleanField(_l("多选题、多空填空题按比例给分"))
    submit = SubmitField(_l("保存"))

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.opens_at.data and self.closes_at.data and self.closes_at.data <= self.opens_at.data:
            self.closes_at.errors.append(_l("关闭时间须晚于开放时间。"))
            return False
        return True


class ItemsForm(FlaskForm):
    bank_id = SelectField(_l("题库"), coerce=int_or_none, validators=[DataRequired()])
    refs = TextAreaField(
        _l("题目编号"),
        validators=[DataRequired(), Length(max=5000)],
        description=_l("每行或用逗号分隔一个编号"),
    )
    points = DecimalField(
        _l("每题分值"),
        default=Decimal(1),
        places=1,
        validators=[InputRequired(), NumberRange(min=Decimal("0.5"), max=Decimal(100))],
    )
    submit = SubmitField(_l("加入固定题"))


class DrawForm(FlaskForm):
    # The bank whose categories `category_id` offers, and the banks one may switch to.
    draw_bank: QuestionBank | None = None
    banks: Sequence[QuestionBank] = ()

    category_id = SelectField(_l("分类"), coerce=int_or_none, validators=[DataRequired()])
    difficulty = SelectField(
        _l("难度"),
        coerce=int_or_none,
        choices=choices([(None, _l("不限")), *DIFFICULTY_CHOICES]),
        validators=[Optional()],
    )
    count = IntegerField(
        _l("抽取题数"), default=10, validators=[InputRequired(), NumberRange(min=1, max=200)]
    )
    points = DecimalField(
        _l("每题分值"),
        default=Decimal(1),
        places=1,
        validators=[InputRequired(), NumberRange(min=Decimal("0.5"), max=Decimal(100))],
    )
    submit = SubmitField(_l("加入随机抽题"))
