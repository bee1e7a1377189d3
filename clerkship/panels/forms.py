from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from clerkship.forminput import record_id
from clerkship.panels.service import LANGUAGE_NAMES


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class PatientForm(FlaskForm):
    name = StringField(
        _l("Name or pseudonym"),
        validators=[DataRequired(_l("Give a name or a pseudonym.")), Length(max=200)],
        filters=[_strip],
        description=_l("What the patient wants to be called, e.g. “Mrs. A.”. No record numbers."),
    )
    language = RadioField(
        _l("Preferred language"),
        choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()],
        default="en",
    )
    email = StringField(
        _l("E-mail (optional)"),
        validators=[
            Optional(),
            Email(_l("That does not look like an e-mail address.")),
            Length(max=254),
        ],
        filters=[_strip],
        description=_l("Only to send invitation links. Leave empty to show a QR code instead."),
    )
    consent_date = DateField(
        _l("Consent to take part given on"),
        validators=[Optional()],
        description=_l("Required before any invitation. Leave empty until the patient agrees."),
    )
    end_date = DateField(_l("Leaves the panel on (optional)"), validators=[Optional()])


class InvitationForm(FlaskForm):
    purpose = RadioField(
        _l("What for"),
        choices=[
            SelectChoice("feedback", _l("Give feedback on how I am doing")),
            SelectChoice("goal_input", _l("Add their view to a goal I shared with them")),
        ],
        default="feedback",
    )
    goal = SelectField(
        _l("Which goal"), coerce=record_id, validators=[Optional()], validate_choice=False
    )
    send_email = BooleanField(_l("Also e-mail the link to the patient"))
