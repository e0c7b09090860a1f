"""Member, filter and roster-import forms."""

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed
from wtforms import BooleanField, DateField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from lms.extensions import db
from lms.forms import (
    EditForm,
    EnumSelectField,
    RequiredFileField,
    StaffNoField,
    Unique,
    choices,
    int_or_none,
)
from lms.org.models import Category, Gender, Member
from lms.org.roster import MAX_NAME, PARTY_FOUNDED, name_problem
from lms.text import Checked


class MemberStaffNoField(StaffNoField):
    """The 工号 of an existing member: once the form validates, `member` is that member. A 工号
    nobody has is refused with "no such member" (an empty one is left to the validators)."""

    def __init__(self, label=None, validators=None, **kwargs) -> None:
        super().__init__(label, validators, lookup=True, **kwargs)
        self.member: Member | None = None

    def post_validate(self, form, validation_stopped: bool) -> None:
        if validation_stopped or self.errors or not self.data:
            return
        self.member = db.session.scalar(sa.select(Member).where(Member.staff_no == self.data))
        if self.member is None:
            raise ValidationError(_l("没有这个工号的学员。"))


class MemberForm(EditForm):
    staff_no = StaffNoField(
        validators=[DataRequired(), Unique(Member.staff_no, _l("该工号已存在。"))]
    )
    name = StringField(
        _l("姓名"),
        validators=[DataRequired(), Checked(name_problem)],
        filters=[lambda v: v.strip(" \t\u3000") if v else v],
        render_kw={"maxlength": MAX_NAME},
    )
    gender = EnumSelectField(_l("性别"), enum=Gender)
    department_id = SelectField(_l("部门"), coerce=int_or_none, validators=[DataRequired()])
    branch_id = SelectField(_l("党支部"), coerce=int_or_none, validators=[DataRequired()])
    shift_id = SelectField(_l("班组"), coerce=int_or_none, validators=[Optional()])
    category = EnumSelectField(_l("类别"), enum=Category)
    joined_party_on = DateField(_l("入党日期"), validators=[Optional()])
    committee_member = BooleanField(
        _l("支部委员"),
        description=_l("支部委员和党支部书记的年度学时目标另行设置（默认 56 学时）。"),
    )
    submit = SubmitField(_l("保存"))

    def set_choices(self, departments, branches, shifts) -> None:
        self.department_id.choices = choices((d.id, d.name) for d in departments)
        self.branch_id.choices = choices(
            (b.id, f"{b.department.name} · {b.name}") for b in branches
        )
        self.shift_id.choices = choices([(None, _l("（无）")), *((s.id, s.name) for s in shifts)])
        self._branch_departments = {b.id: b.department_id for b in branches}

    def validate_branch_id(self, field: SelectField) -> None:
        if self._branch_departments.get(field.data) != self.department_id.data:
            raise ValidationError(_l("所选党支部不属于所选部门。"))

    def validate_joined_party_on(self, field: DateField) -> None:
        if field.data and not (PARTY_FOUNDED <= field.data <= date.today()):
            raise ValidationError(_l("入党日期不在合理范围内。"))


class MemberFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    q = StringField(_l("姓名或工号"), validators=[Optional(), Length(max=64)])
    department_id = SelectField(_l("部门"), coerce=int_or_none, validators=[Optional()])
    branch_id = SelectField(_l("党支部"), coerce=int_or_none, validators=[Optional()])
    shift_id = SelectField(_l("班组"), coerce=int_or_none, validators=[Optional()])
    category = EnumSelectField(
        _l("类别"), enum=Category, blank=_l("全部类别"), validators=[Optional()]
    )
    active = SelectField(
        _l("状态"),
        choices=choices([("active", _l("在册")), ("inactive", _l("已停用")), ("all", _l("全部"))]),
        default="active",
        validators=[Optional()],
    )

    def set_choices(self, departments, branches, shifts) -> None:
        self.department_id.choices = choices(
            [(None, _l("全部部门")), *((d.id, d.name) for d in departments)]
        )
        self.branch_id.choices = choices(
            [(None, _l("全部支部")), *((b.id, b.name) for b in branches)]
        )
        self.shift_id.choices = choices([(None, _l("全部班组")), *((s.id, s.name) for s in shifts)])


class RosterImportForm(FlaskForm):
    file = RequiredFileField(
        _l("花名册文件（.xlsx 或 .csv）"),
        validators=[FileAllowed(["xlsx", "csv"], _l("只支持 .xlsx 或 .csv 文件。"))],
    )
    create_accounts = BooleanField(_l("为没有账号的在册人员创建学员账号（下载初始密码表）"))
    submit = SubmitField(_l("导入"))
