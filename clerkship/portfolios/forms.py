"""The public /verify form (rendered through templates/_macros/forms.html)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField


class VerifyForm(FlaskForm):
    id = StringField(
        _l("Document id"),
        description=_l("Printed at the bottom of every page, e.g. ABCD-EFGH-IJKL-MNOP."),
    )
    file = FileField(_l("The PDF (optional)"), render_kw={"accept": "application/pdf"})
