"""The patient's two forms, on WTForms like every other, rendered through the shared macro
(``templates/_macros/forms.html``, its ``patient`` look: large answers, one per row).

The forms only read and show what was sent: the rules are in ``visit.service`` (a service's
``AnswerError`` maps each message to its field here, so it is shown beside the question with
``aria-invalid`` and ``aria-describedby``). The POST names are the ones patients' browsers
already send (``item-<key>``, ``show_name``, …).
"""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, TextAreaField

from clerkship.models import FeedbackInstrument, PatientInvitation
from clerkship.visit.service import NOT_APPLICABLE


def item_field(key: str) -> str:
    return f"item-{key}"


class _PatientForm(FlaskForm):
    def show_errors(self, errors: dict[str, str]) -> None:
        """A service's ``{field: message}`` beside each field ("form", "few": the top)."""
        for name, message in errors.items():
            target = self._fields.get(name) or self._fields.get(item_field(name))
            if target is not None:
                target.errors = [message]

    @property
    def show_name_choice(self) -> str:
        return self.show_name.data or ""


def _show_name(invitation: PatientInvitation) -> RadioField:
    # The one way a patient is asked whether their name appears; "No" until they change it.
    student, patient = invitation.student.name, invitation.patient.name
    return RadioField(
        _("May %(name)s see that this is from you?", name=student),
        choices=[
            SelectChoice("no", _("No — show “a patient”")),
            SelectChoice("yes", _("Yes — show my name, %(name)s", name=patient)),
        ],
        description=_(
            "This decides what every page and report about %(name)s shows.", name=student
        ),
        validate_choice=False,
    )


def feedback_form(
    invitation: PatientInvitation, instrument: FeedbackInstrument, language: str, max_text: int
) -> _PatientForm:
    """The feedback questions of ``instrument`` in ``language``; sent data if this is a POST."""
    student = invitation.student.name

    class FeedbackForm(_PatientForm):
        pass

    for number, item in enumerate(instrument.items, start=1):
        choices = [
            SelectChoice(str(option["value"]), instrument.text(option["label"], language))
            for option in instrument.scale
        ]
        field = RadioField(
            f"{number}. {instrument.text(item.prompt, language)}",
            choices=[*choices, SelectChoice(NOT_APPLICABLE, _("Does not apply"))],
            validate_choice=False,
        )
        setattr(FeedbackForm, item_field(item.key), field)
    text = {"rows": 3, "maxlength": max_text}
    FeedbackForm.hope_next = TextAreaField(
        _("What do you hope %(name)s learns next?", name=student),
        description=_("Optional."),
        render_kw=text,
    )
    FeedbackForm.anything_else = TextAreaField(
        _("Anything else?"), description=_("Optional."), render_kw=text
    )
    FeedbackForm.show_name = _show_name(invitation)
    FeedbackForm.allow_quotes = BooleanField(
        _("My written words may be quoted in reports about the student’s learning.")
    )
    return FeedbackForm(**_first_view())


def goal_input_form(invitation: PatientInvitation) -> _PatientForm:
    class GoalInputForm(_PatientForm):
        view = TextAreaField(_("Your view (optional)"), render_kw={"rows": 4})
        matters = BooleanField(_("This matters to me"))
        show_name = _show_name(invitation)

    return GoalInputForm(**_first_view())


def _first_view() -> dict:
    # Opened, not sent: "No" is chosen for the name question; a POST shows what was sent.
    return {} if request.method == "POST" else {"formdata": None, "data": {"show_name": "no"}}
