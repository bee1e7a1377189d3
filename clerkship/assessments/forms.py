from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from clerkship.assessments.service import COSIGN_MEANINGS
from clerkship.goals.forms import MultiCheckboxField

LONG_TEXT = 6000


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _text(label, message=None, description=None, required=True):
    validators = [Length(max=LONG_TEXT)]
    if required:
        validators.insert(0, InputRequired(message))
    return TextAreaField(label, validators=validators, filters=[_strip], description=description)


class StartForm(FlaskForm):
    person = SelectField(coerce=int, validators=[InputRequired(_l("Choose who."))])
    # Radio buttons in the tree picker (templates/_macros/forms.html tree_picker).
    competency = RadioField(
        _l("Competency"), coerce=int, validators=[InputRequired(_l("Choose a competency."))]
    )
    period_start = DateField(_l("Period from"), validators=[Optional()])
    period_end = DateField(_l("Period to"), validators=[Optional()])
    encounter = StringField(
        _l("Or a named encounter"),
        validators=[Length(max=300)],
        filters=[_strip],
        description=_l("e.g. “Home visit with Mrs. A., 12 March”. Leave empty for a period."),
    )


class SelfAssessmentForm(FlaskForm):
    level = RadioField(
        _l("Where are you on this competency?"),
        coerce=int,
        validators=[InputRequired(_l("Choose one of the levels on the scale."))],
    )
    evidence = _text(
        _l("What did you base this on?"),
        _l("Say what you based your rating on."),
        _l("Encounters, feedback you received, things you noticed about your own work."),
    )
    goals = MultiCheckboxField(_l("Your learning goals"), coerce=int)
    feedback = MultiCheckboxField(_l("Patient feedback"), coerce=int)
    reflections = MultiCheckboxField(_l("Your reflections"), coerce=int)
    interpretation = _text(
        _l("What do you think it means?"),
        description=_l("What this says about where you are and what comes next."),
        required=False,
    )


class PreceptorAssessmentForm(FlaskForm):
    went_well = _text(_l("What went well"), _l("Say what went well."))
    work_on = _text(_l("What to work on"), _l("Say what to work on next."))
    level = RadioField(
        _l("Your rating"),
        coerce=int,
        validators=[InputRequired(_l("Choose one of the levels on the scale."))],
    )


class ReactionForm(FlaskForm):
    reaction = _text(
        _l("How does the feedback compare with your own view?"),
        _l("Say how the feedback compares with your own view."),
    )
    plan = _text(
        _l("What will you do next?"),
        _l("Say what you will do next."),
        _l("Concrete steps: what, with whom, by when."),
    )
    make_goal = BooleanField(_l("Also make this plan a learning goal"))
    goal_title = StringField(
        _l("Title of the new goal"),
        validators=[Length(max=300)],
        filters=[_strip],
        description=_l("One line. The plan becomes the goal’s actions; you can edit it later."),
    )


class GoalFromPlanForm(FlaskForm):
    goal_title = StringField(
        _l("Title of the new goal"),
        validators=[InputRequired(_l("Give the goal a short title.")), Length(max=300)],
        filters=[_strip],
    )


class SeenVersion:
    """The version of the record the form showed: signing or returning another is refused."""

    version = IntegerField(
        widget=HiddenInput(),
        validators=[InputRequired(_l("This page is out of date. Reload it and try again."))],
    )


class SignForm(SeenVersion, FlaskForm):
    meaning = RadioField(
        _l("What your signature means"),
        choices=[SelectChoice(meaning.value, label) for meaning, label in COSIGN_MEANINGS.items()],
        validators=[InputRequired(_l("Choose what your signature means."))],
    )
    password = PasswordField(
        _l("Your password"),
        validators=[InputRequired(_l("Enter your password to sign.")), Length(max=1024)],
        description=_l("Signing needs your password again, even though you are signed in."),
    )


class SchoolSignForm(SeenVersion, FlaskForm):
    """Co-signing after a fresh sign-in with the school account: no password here."""

    meaning = SignForm.meaning


class ReturnForm(SeenVersion, FlaskForm):
    comment = _text(
        _l("What should the student look at again?"),
        _l("Say what the student should look at again."),
    )


class AddendumForm(FlaskForm):
    body = _text(
        _l("Correction or addition"),
        _l("Write the correction or addition."),
        _l("The signed record stays as it was; this is shown beneath it, signed by you."),
    )
    withdraws_decision = BooleanField(
        _l("This addendum withdraws the entrustment decision"),
        description=_l(
            "The student's credential for this decision is revoked: anyone who checks it is "
            "told so from now on."
        ),
    )
    password = PasswordField(
        _l("Your password"),
        validators=[InputRequired(_l("Enter your password to sign.")), Length(max=1024)],
    )
