"""Crediting external hours and setting annual targets."""

from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from lms.forms import HoursField, RequiredFileField
from lms.org.forms import MemberStaffNoField


class AttendanceImportForm(FlaskForm):
    file = RequiredFileField(_l("文件"))
    submit = SubmitField(_l("导入"))


class CreditForm(FlaskForm):
    staff_no = MemberStaffNoField(validators=[DataRequired()])
    hours = HoursField(
        _l("学时"),
        validators=[InputRequired(), NumberRange(min=Decimal("0.5"), max=Decimal(200))],
    )
    reason = StringField(
        _l("事由"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("例如：参加上级党校专题培训"),
    )
    credited_on = DateField(_l("日期"), validators=[InputRequired()], default=date.today)
    submit = SubmitField(_l("认定学时"))


class TargetsForm(FlaskForm):
    secretary = IntegerField(
        _l("党支部书记、支部委员"),
        validators=[InputRequired(), NumberRange(min=0, max=500)],
    )
    submit = SubmitField(_l("保存"))
