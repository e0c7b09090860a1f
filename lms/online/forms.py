"""Adding a recording, and the online hours rule."""

from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from lms.forms import EnumSelectField
from lms.online.models import CreditCategory

DURATION = re.compile(r"^(?:(\d{1,2}):)?(\d{1,3}):(\d{2})$")


def parse_duration(text: str) -> int | None:
    """ "1:02:03", "62:03" or "45:00" → seconds; None if it is not such a time."""
    match = DURATION.match(text.strip())
    if not match:
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    if seconds >= 60 or (match.group(1) and minutes >= 60):
        return None
    return hours * 3600 + minutes * 60 + seconds


class RecordingForm(FlaskForm):
    material_id = SelectField(_l("视频资料"), coerce=int, validators=[InputRequired()])
    title = StringField(_l("名称"), validators=[Optional(), Length(max=128)])
    duration = StringField(
        _l("时长"),
        validators=[Optional(), Length(max=10)],
        description=_l("如 45:00 或 1:05:30；留空则从视频文件读取"),
    )
    quiz_id = SelectField(_l("随堂测试"), coerce=int, default=0)
    credit_category = EnumSelectField(
        _l("学时类别"), enum=CreditCategory, blank=_l("按时长自动"), default=None
    )
    submit = SubmitField(_l("添加录像"))

    def __init__(self, *args, materials=(), quizzes=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.material_id.choices = [(m.id, m.title) for m in materials]
        self.quiz_id.choices = [(0, _l("无"))] + [(q.id, q.title) for q in quizzes]

    def validate_duration(self, field) -> None:
        if field.data and field.data.strip():
            seconds = parse_duration(field.data)
            if seconds is None or not 0 < seconds <= 86400:
                raise ValidationError(_l("时长格式应为 分:秒 或 时:分:秒，且不超过 24 小时。"))


def _hours_field(label):
    return DecimalField(
        label,
        places=2,
        validators=[InputRequired(), NumberRange(min=Decimal(0), max=Decimal(10))],
    )


class CreditRulesForm(FlaskForm):
    course_minutes = IntegerField(
        _l("课程：时长不少于（分钟）"), validators=[InputRequired(), NumberRange(min=1, max=600)]
    )
    micro_minutes = IntegerField(
        _l("微课：时长少于（分钟）"), validators=[InputRequired(), NumberRange(min=1, max=600)]
    )
    course = _hours_field(_l("课程学时"))
    short = _hours_field(_l("短课学时"))
    micro = _hours_field(_l("微课学时"))
    quiz = _hours_field(_l("通过随堂测试另加学时"))
    submit = SubmitField(_l("保存"))

    def validate_micro_minutes(self, field) -> None:
        if (
            field.data is not None
            and self.course_minutes.data is not None
            and field.data > self.course_minutes.data
        ):
            raise ValidationError(_l("微课的分钟数不能大于课程的分钟数。"))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for name in ("course", "short", "micro", "quiz"):
            field = getattr(self, name)
            if field.errors or field.data is None:
                continue  # out of range already said (and a huge value cannot be divided)
            if not field.data.is_finite() or (field.data * 20) % 1:
                field.errors.append(_l("学时须为 0.05 的整数倍。"))
                ok = False
        return ok
