"""User administration forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from lms.admin.audit import action_choices
from lms.auth.models import Role, User
from lms.forms import EnumCheckboxesField, NotBefore, Unique, choices
from lms.org.forms import MemberStaffNoField


class UserForm(FlaskForm):
    display_name = StringField(_l("显示名称"), validators=[Optional(), Length(max=64)])
    member_staff_no = MemberStaffNoField(_l("关联学员工号"), validators=[Optional()])
    roles = EnumCheckboxesField(_l("角色"), enum=Role)
    active = BooleanField(_l("账号启用"), default=True)
    submit = SubmitField(_l("保存"))


class NewUserForm(UserForm):
    username = StringField(
        _l("用户名"),
        validators=[
            DataRequired(),
            Length(max=64),
            Regexp(
                r"^[0-9A-Za-z_.\-]+$", message=_l("用户名只能包含字母、数字、点、下划线和连字符。")
            ),
            Unique(User.username, _l("该用户名已存在。")),
        ],
        filters=[lambda v: v.strip() if v else v],
    )


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("搜索"), validators=[Optional(), Length(max=64)])


class AuditFilterForm(FlaskForm):
    """The audit log's filters, in the query string."""

    class Meta:
        csrf = False

    action = SelectField(_l("操作"), validators=[Optional()])
    who = StringField(
        _l("操作人"),
        validators=[Optional(), Length(max=64)],
        filters=[lambda v: v.strip() if v else v],
    )
    start = DateField(_l("从"), validators=[Optional()])
    end = DateField(_l("到"), validators=[Optional(), NotBefore("start")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.action.choices = choices([("", _l("全部操作")), *action_choices()])
