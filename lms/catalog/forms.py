"""Course, catalog-filter and theme forms."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from lms.catalog.models import Course, CourseFormat, CourseStatus, Theme
from lms.forms import (
    CheckboxesField,
    EditForm,
    EnumCheckboxesField,
    EnumSelectField,
    HoursField,
    Unique,
    choices,
    int_or_none,
)
from lms.org.models import Category


class CourseForm(EditForm):
    code = StringField(
        _l("课程编号"),
        validators=[
            DataRequired(),
            Length(max=32),
            Regexp(
                r"^[0-9A-Za-z][0-9A-Za-z_\-]*$",
                message=_l("编号只能包含字母、数字、下划线和连字符。"),
            ),
            Unique(Course.code, _l("该课程编号已存在。")),
        ],
        filters=[lambda v: v.strip() if v else v],
    )
    title = StringField(
        _l("课程名称"),
        validators=[DataRequired(), Length(max=128)],
        filters=[lambda v: v.strip() if v else v],
    )
    theme_id = SelectField(_l("主题"), coerce=int_or_none, validators=[DataRequired()])
    format = EnumSelectField(_l("形式"), enum=CourseFormat)
    hours = HoursField(
        _l("学时"),
        validators=[
            InputRequired(),
            NumberRange(
                min=Decimal("0.5"), max=Decimal("100"), message=_l("学时须在 0.5 到 100 之间。")
            ),
        ],
    )
    description = TextAreaField(
        _l("课程介绍（Markdown）"), validators=[Optional(), Length(max=20000)]
    )
    categories = EnumCheckboxesField(_l("培训对象"), enum=Category)
    lecturer_ids = CheckboxesField(_l("默认讲师"), coerce=int)
    submit = SubmitField(_l("保存"))

    def set_choices(self, themes, lecturers) -> None:
        self.theme_id.choices = choices((t.id, t.name) for t in themes)
        self.lecturer_ids.choices = choices((u.id, u.name) for u in lecturers)


class CatalogFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("课程名称"), validators=[Optional(), Length(max=64)])
    theme_id = SelectField(_l("主题"), coerce=int_or_none, validators=[Optional()])
    format = EnumSelectField(
        _l("形式"), enum=CourseFormat, blank=_l("全部形式"), validators=[Optional()]
    )
    category = EnumSelectField(
        _l("培训对象"), enum=Category, blank=_l("全部对象"), validators=[Optional()]
    )
    status = SelectField(_l("状态"), default="published", validators=[Optional()])

    def set_choices(self, themes) -> None:
        self.theme_id.choices = choices([(None, _l("全部主题")), *((t.id, t.name) for t in themes)])
        self.status.choices = choices([*CourseStatus.choices(), ("all", _l("全部"))])


class ThemeForm(FlaskForm):
    name = StringField(
        _l("新主题"),
        validators=[DataRequired(), Length(max=32), Unique(Theme.name, _l("该主题已存在。"))],
        filters=[lambda v: v.strip() if v else v],
    )
    submit = SubmitField(_l("添加"))
