"""Material upload forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional

from lms.forms import choices
from lms.materials.models import VISIBILITY_LABELS, Visibility


class VersionForm(FlaskForm):
    file = FileField(_l("文件"))
    submit = SubmitField(_l("上传"))


class MaterialForm(VersionForm):
    title = StringField(
        _l("标题"),
        validators=[Optional(), Length(max=128)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        description=_l("留空则使用文件名"),
    )
    visibility = SelectField(
        _l("谁可以查看"),
        choices=choices((v.value, label) for v, label in VISIBILITY_LABELS.items()),
        default=Visibility.ENROLLED.value,
    )
