"""The pairing form. Which preceptor, discipline and dates are acceptable is
people/service.pair's rule; the form only carries what was typed."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from clerkship.forminput import record_id


def _id_or_none(value):
    try:
        return record_id(value)
    except (TypeError, ValueError):
        return None  # the service asks for a preceptor


class PairForm(FlaskForm):
    preceptor = SelectField(_l("Preceptor"), coerce=_id_or_none, validate_choice=False)
    discipline = SelectField(_l("Discipline"), validate_choice=False)
    start_date = DateField(_l("From"), validators=[Optional()])
    end_date = DateField(_l("Until (optional)"), validators=[Optional()])
