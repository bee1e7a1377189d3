"""The portfolio forms: /verify and the period (rendered through templates/_macros/forms.html)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, StringField, ValidationError
from wtforms.validators import Optional

BAD_DATE = _l("Dates look like 2026-09-30.")
BACKWARDS = _l("The period cannot end before it starts.")


class VerifyForm(FlaskForm):
    id = StringField(
        _l("Document id"),
        description=_l("Printed at the bottom of every page, e.g. ABCD-EFGH-IJKL-MNOP."),
    )
    file = FileField(_l("The PDF (optional)"), render_kw={"accept": "application/pdf"})


class PeriodForm(FlaskForm):
    """The period of a portfolio: the page's filter (a GET form, no CSRF) and the exports."""

    start = DateField(
        _l("From"), validators=[Optional()], format="%Y-%m-%d", invalid_value_message=BAD_DATE
    )
    end = DateField(
        _l("to"), validators=[Optional()], format="%Y-%m-%d", invalid_value_message=BAD_DATE
    )

    def validate_end(self, field) -> None:
        if self.start.data and field.data and field.data < self.start.data:
            raise ValidationError(str(BACKWARDS))

    @property
    def period(self) -> tuple[date | None, date | None]:
        return self.start.data, self.end.data
