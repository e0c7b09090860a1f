"""The trainee's leave request."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length


class LeaveForm(FlaskForm):
    reason = TextAreaField(_l("请假原因"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("提交请假"))
