from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from clerkship.goals.service import FIELD_LABELS, SUGGESTABLE_FIELDS

LONG_TEXT = 4000


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class GoalForm(FlaskForm):
    title = StringField(
        FIELD_LABELS["title"],
        validators=[DataRequired(_l("Give the goal a short title.")), Length(max=300)],
        filters=[_strip],
        description=_l("One line, e.g. “Lead a family meeting about a new diagnosis”."),
    )
    specific = TextAreaField(
        FIELD_LABELS["specific"],
        validators=[Length(max=LONG_TEXT)],
        filters=[_strip],
        description=_l("What exactly will you be able to do?"),
    )
    measure = TextAreaField(
        FIELD_LABELS["measure"],
        validators=[Length(max=LONG_TEXT)],
        filters=[_strip],
        description=_l("How will you, your preceptor and your patients see progress?"),
    )
    actions = TextAreaField(
        FIELD_LABELS["actions"],
        validators=[Length(max=LONG_TEXT)],
        filters=[_strip],
        description=_l("What will you do to get there?"),
    )
    target_date = DateField(FIELD_LABELS["target_date"], validators=[Optional()])
    competencies = MultiCheckboxField(
        FIELD_LABELS["competencies"], coerce=int, validate_choice=True
    )
    seen_version = IntegerField(widget=HiddenInput(), validators=[Optional()])


class ShareForm(FlaskForm):
    people = MultiCheckboxField(
        _l("Who may see this goal"),
        coerce=int,
        description=_l("At least one of your preceptors; your continuity patients are optional."),
    )


class NoteForm(FlaskForm):
    kind = RadioField(
        _l("Type"),
        choices=[
            SelectChoice("comment", _l("Comment")),
            SelectChoice("progress_note", _l("Progress note")),
        ],
        default="comment",
        validators=[InputRequired()],
    )
    body = TextAreaField(
        _l("Your words"),
        validators=[DataRequired(_l("Write something first.")), Length(max=LONG_TEXT)],
        filters=[_strip],
    )


class SuggestionForm(FlaskForm):
    field = SelectField(
        _l("Part of the goal"),
        choices=[SelectChoice(name, FIELD_LABELS[name]) for name in SUGGESTABLE_FIELDS],
        validators=[InputRequired()],
    )
    proposed_text = TextAreaField(
        _l("Suggested wording"),
        validators=[DataRequired(_l("Write the wording you suggest.")), Length(max=LONG_TEXT)],
        filters=[_strip],
    )
    note = TextAreaField(
        _l("Why (optional)"), validators=[Length(max=LONG_TEXT)], filters=[_strip]
    )


class DeclineForm(FlaskForm):
    suggestion_id = 0  # which suggestion this one of the page's decline forms answers
    reason = TextAreaField(
        _l("Why not"),
        validators=[DataRequired(_l("Say briefly why, so they understand.")), Length(max=2000)],
        filters=[_strip],
    )


class EndorseForm(FlaskForm):
    endorse_note = TextAreaField(
        _l("Anything to add (optional)"), validators=[Length(max=2000)], filters=[_strip]
    )


class ActionForm(FlaskForm):
    """A button that needs nothing but the CSRF token."""


class AgreeForm(FlaskForm):
    # The version number the page showed: agreeing to another one is refused.
    version = IntegerField(
        widget=HiddenInput(),
        validators=[InputRequired(_l("This page is out of date. Reload it and try again."))],
    )


class CloseForm(FlaskForm):
    outcome = RadioField(
        _l("How did it end?"),
        choices=[
            SelectChoice("achieved", _l("Achieved")),
            SelectChoice("revised", _l("Revised — replaced by a new goal")),
            SelectChoice("dropped", _l("Dropped")),
        ],
        validators=[InputRequired(_l("Choose how the goal ended."))],
    )
    reflection = TextAreaField(
        _l("Closing reflection"),
        validators=[
            DataRequired(_l("Write a few lines on what you learned before closing the goal.")),
            Length(max=LONG_TEXT),
        ],
        filters=[_strip],
        description=_l("What did you learn? Your preceptors will read this."),
    )
