"""Material upload forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import Length, Optional

from lms.forms import EnumSelectField, RequiredFileField
from lms.materials.models import Visibility


class VersionForm(FlaskForm):
    file = RequiredFileField(_l("文件"), message=_l("请选择要上传的文件。"))
    submit = SubmitField(_l("上传"))


class MaterialForm(VersionForm):
    title = StringField(
        _l("标题"),
        validators=[Optional(), Length(max=128)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        description=_l("留空则使用文件名"),
    )
    visibility = EnumSelectField(_l("谁可以查看"), enum=Visibility, default=Visibility.ENROLLED)
