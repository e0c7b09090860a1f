"""Session, lesson, status and plan-next forms."""

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lms.forms import (
    EditForm,
    EnumCheckboxesField,
    NotBefore,
    SchedulableDate,
    Unique,
    choices,
    int_or_none,
)
from lms.org.models import Category
from lms.sessions.models import TrainingSession

TITLE_TAKEN = _l("该期次名称已存在。")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class SessionForm(EditForm):
    title = StringField(
        _l("期次名称"),
        validators=[DataRequired(), Length(max=64), Unique(TrainingSession.title, TITLE_TAKEN)],
        filters=[_strip],
        description=_l("例如：2026年第11期"),
    )
    start_date = DateField(_l("开始日期"), validators=[InputRequired(), SchedulableDate()])
    end_date = DateField(
        _l("结束日期"),
        validators=[Optional(), NotBefore("start_date"), SchedulableDate()],
        description=_l("留空则为开始日期的次日（两天）"),
    )
    venue = StringField(_l("地点"), validators=[Optional(), Length(max=128)], filters=[_strip])
    capacity = IntegerField(
        _l("容量（人）"),
        default=60,
        validators=[
            InputRequired(),
            NumberRange(min=1, max=5000, message=_l("容量须在 1 到 5000 之间。")),
        ],
    )
    enrolment_deadline = DateField(_l("报名截止日期"), validators=[Optional(), SchedulableDate()])
    categories = EnumCheckboxesField(
        _l("培训对象"),
        enum=Category,
        description=_l("不选则面向全体"),
    )
    completion_percent = IntegerField(
        _l("结业须出勤学时比例（%）"),
        default=100,
        validators=[Optional(), NumberRange(min=1, max=100)],
    )
    late_counts = BooleanField(_l("迟到计为出勤"), default=True)
    quiz_required = BooleanField(_l("须通过本期测试"), default=True)
    submit = SubmitField(_l("保存"))

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.end_date.data is None:
            self.end_date.data = self.start_date.data + timedelta(days=1)
        ok = True
        if (self.end_date.data - self.start_date.data).days > 30:
            self.end_date.errors.append(_l("一期最长 31 天。"))
            ok = False
        deadline = self.enrolment_deadline.data
        if deadline is not None and deadline > self.start_date.data:
            self.enrolment_deadline.errors.append(_l("报名截止日期不能晚于开始日期。"))
            ok = False
        return ok


class LessonForm(FlaskForm):
    course_id = SelectField(_l("课程"), coerce=int_or_none, validators=[DataRequired()])
    lecturer_id = SelectField(
        _l("讲师"),
        coerce=int_or_none,
        validators=[Optional()],
        description=_l("留空则使用课程的默认讲师"),
    )
    day = DateField(_l("日期"), validators=[InputRequired(), SchedulableDate()])
    start = TimeField(_l("上课时间"), validators=[InputRequired()])
    end = TimeField(_l("下课时间"), validators=[InputRequired()])
    room = StringField(_l("教室"), validators=[Optional(), Length(max=64)], filters=[_strip])
    submit = SubmitField(_l("保存"))

    def set_choices(self, courses, lecturers) -> None:
        self.course_id.choices = choices((c.id, f"{c.code} {c.title}") for c in courses)
        self.lecturer_id.choices = choices(
            [(None, _l("（课程默认讲师）")), *((u.id, u.name) for u in lecturers)]
        )


class StatusForm(FlaskForm):
    reason = TextAreaField(_l("取消原因"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("确定"))


class PlanNextForm(FlaskForm):
    title = StringField(
        _l("新期次名称"),
        validators=[DataRequired(), Length(max=64), Unique(TrainingSession.title, TITLE_TAKEN)],
        filters=[_strip],
    )
    start_date = DateField(_l("新的开始日期"), validators=[InputRequired(), SchedulableDate()])
    submit = SubmitField(_l("按此课表安排"))
