"""Rotation cycle and cohort-move forms."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from lms.forms import (
    MAX_ID,
    CheckboxesField,
    EditForm,
    EnumCheckboxesField,
    EnumSelectField,
    HoursField,
    NotBefore,
    StaffNoField,
    Unique,
)
from lms.org.forms import MemberStaffNoField
from lms.org.models import Category
from lms.rotation.models import BlackoutReason, RotationCycle


class CycleForm(EditForm):
    name = StringField(
        _l("周期名称"),
        validators=[
            DataRequired(),
            Length(max=64),
            Unique(RotationCycle.name, _l("该周期名称已存在。")),
        ],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        description=_l("例如：2026年度全员轮训"),
    )
    start_date = DateField(_l("开始日期"), validators=[InputRequired()])
    end_date = DateField(_l("结束日期"), validators=[InputRequired(), NotBefore("start_date")])
    categories = EnumCheckboxesField(
        _l("培训对象"),
        enum=Category,
        description=_l("不选则为全体在册学员"),
    )
    branch_ids = CheckboxesField(_l("限定党支部"), coerce=int, description=_l("不选则为全部党支部"))
    required_sessions = IntegerField(
        _l("须完成期次数"), default=1, validators=[InputRequired(), NumberRange(min=0, max=12)]
    )
    required_hours = HoursField(
        _l("须完成学时"),
        default=Decimal(0),
        validators=[InputRequired(), NumberRange(min=Decimal(0), max=Decimal(500))],
    )
    cap_percent = IntegerField(
        _l("安全比例上限（%）"),
        default=30,
        validators=[InputRequired(), NumberRange(min=1, max=100)],
        description=_l("任一期次从同一班组或部门抽调的人数不超过该比例"),
    )
    submit = SubmitField(_l("保存"))


class MoveForm(FlaskForm):
    staff_no = StaffNoField(validators=[DataRequired()], lookup=True)
    session_id = IntegerField(
        _l("调入期次"), validators=[InputRequired(), NumberRange(min=1, max=MAX_ID)]
    )
    force = BooleanField(_l("已知悉超出安全比例等提示，仍然调整"))
    submit = SubmitField(_l("调整"))


class BlackoutForm(FlaskForm):
    staff_no = MemberStaffNoField(validators=[DataRequired()])
    start_date = DateField(_l("开始日期"), validators=[InputRequired()])
    end_date = DateField(_l("结束日期"), validators=[InputRequired(), NotBefore("start_date")])
    reason = EnumSelectField(_l("原因"), enum=BlackoutReason)
    note = StringField(_l("备注"), validators=[Length(max=200)])
    submit = SubmitField(_l("登记"))
