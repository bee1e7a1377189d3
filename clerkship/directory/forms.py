"""The program and cohort forms. The rules (names, dates, slugs, directors) live in setup.py;
these only carry what was typed, and render through templates/_macros/forms.html."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from clerkship.forminput import record_id
from clerkship.goals.forms import MultiCheckboxField


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _id_or_none(value):
    """A scale or framework id as sent; one that cannot be an id is None (the service then
    treats it as not chosen: setup.py owns which ids are acceptable)."""
    try:
        return record_id(value)
    except (TypeError, ValueError):
        return None


class CohortForm(FlaskForm):
    # How long a name may be is setup.save_cohort's rule (the column's length), not repeated here.
    name = StringField(_l("Name"), filters=[_strip], render_kw={"placeholder": "2026–27"})
    start_date = DateField(_l("First day"), validators=[Optional()])
    end_date = DateField(_l("Last day"), validators=[Optional()])


class ProgramForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=200)], filters=[_strip])
    institution = StringField(_l("Institution"), validators=[Length(max=200)], filters=[_strip])
    slug = StringField(
        _l("Short name"),
        validators=[Length(max=100)],
        filters=[_strip],
        description=_l("Lower-case letters, digits and dashes; used in addresses."),
    )
    director_emails = StringField(
        _l("Directors (e-mails, comma-separated)"),
        validators=[Length(max=2000)],
        description=_l("Existing program-director accounts."),
    )
    scale_id = SelectField(_l("Entrustment scale"), coerce=_id_or_none, validate_choice=False)
    entrustment_value = SelectField(
        _l("Entrustment decision from"),
        coerce=_id_or_none,
        validate_choice=False,
        description=_l(
            "A co-signed preceptor rating at this level or above is an entrustment decision: "
            "the student can download it as an Open Badges credential."
        ),
    )
    framework_ids = MultiCheckboxField(
        _l("Competency frameworks assessed"), coerce=_id_or_none, validate_choice=False
    )
    password_for_school_accounts = BooleanField(
        _l("People who sign in with their school account may also use a password"),
        default=True,
        description=_l(
            "Untick to make everyone who has signed in through the school keep doing so. "
            "People without a school account (community preceptors) keep their password."
        ),
    )

    school_sign_up_domains = TextAreaField(
        _l("Create students at their first school sign-in (e-mail domains)"),
        validators=[Length(max=2000)],
        description=_l(
            "Empty (recommended): only people on a roster can sign in. List your students' "
            "e-mail domains, one per line, to let an unknown student with a school account in "
            "one of them join this program's current cohort on their own."
        ),
    )

    def emails(self) -> list[str]:
        return [e.strip() for e in (self.director_emails.data or "").split(",") if e.strip()]


class InstrumentForm(FlaskForm):
    """Choose a loaded patient-feedback instrument, or upload a file (the file wins)."""

    instrument_id = RadioField(
        _l("Loaded instruments"), coerce=int, validators=[Optional()], validate_choice=False
    )
    file = FileField(
        _l("Or upload an instrument file (JSON, English and Spanish)"),
        description=_l(
            "The format is described in docs/data-formats.md. "
            "An upload is used for this program at once."
        ),
        render_kw={"accept": ".json,application/json"},
    )


class StudentSearchForm(FlaskForm):
    """A GET search: nothing is written, so no CSRF token is asked for."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Name or e-mail"), filters=[_strip], validators=[Optional(), Length(max=100)]
    )
