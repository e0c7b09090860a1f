"""Sign-in and password forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from lms.forms import choices

MIN_PASSWORD_LENGTH = 8


class LoginForm(FlaskForm):
    username = StringField(_l("用户名（工号）"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=256)])
    next = HiddenField()
    submit = SubmitField(_l("登录"))


def _strong_enough(form: FlaskForm, field: PasswordField) -> None:
    value = field.data or ""
    if value.isdigit() or value.isalpha():
        raise ValidationError(_l("密码须同时包含字母和数字或符号。"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField(
        _l("新密码"),
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH, max=256, message=_l("新密码长度须为 8 到 256 个字符。")
            ),
            _strong_enough,
        ],
    )
    confirm = PasswordField(
        _l("再次输入新密码"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("两次输入的新密码不一致。")),
        ],
    )
    submit = SubmitField(_l("修改密码"))


class LanguageForm(FlaskForm):
    language = SelectField(_l("语言"), choices=choices([("zh_CN", "中文"), ("en", "English")]))
    next = HiddenField()
    submit = SubmitField(_l("切换"))
