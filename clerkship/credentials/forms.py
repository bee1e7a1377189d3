"""The public credential check (rendered through templates/_macros/forms.html)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import TextAreaField
from wtforms.validators import Length

# A learner record bundling a hundred decisions stays under this (each is about 3 KB).
MAX_TOKEN = 400 * 1024


class CredentialVerifyForm(FlaskForm):
    token = TextAreaField(
        _l("The credential (paste it)"),
        validators=[Length(max=MAX_TOKEN)],
        description=_l("The text of the .jwt file: three parts separated by dots."),
        render_kw={"rows": 6, "spellcheck": "false"},
    )
    file = FileField(_l("Or choose the .jwt file"))
