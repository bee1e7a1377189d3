"""The audit viewer's filters, sent by GET (nothing is written, so no CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from clerkship.auditlog.queries import KINDS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    actor = StringField(_l("Who (name or e-mail)"), validators=[Length(max=200)], filters=[_strip])
    student = StringField(
        _l("Whose records (student)"), validators=[Length(max=200)], filters=[_strip]
    )
    kind = SelectField(
        _l("What"),
        choices=[SelectChoice("", _l("Anything"))]
        + [SelectChoice(key, label) for key, label in KINDS.items()],
        validate_choice=False,
    )
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("Until"), validators=[Optional()])
