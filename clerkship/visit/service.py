"""What a continuity patient can do through an invitation link, and nothing else.

A link opens a short *patient session* bound to one invitation. Every request re-checks that
invitation, so a revoked or expired link, or an ended panel entry, stops working at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clerkship import audit, clock
from clerkship.directory.queries import latest_program_of
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.models import (
    ContributionKind,
    FeedbackAnswer,
    FeedbackInstrument,
    InvitationPurpose,
    PanelEntry,
    PatientFeedback,
    PatientInvitation,
    Program,
    utcnow,
)
from clerkship.panels.service import hash_token, looks_like_token

# Why a link does not work, in words a patient understands (shown in their language).
PROBLEMS = {
    "unknown": _l("This link does not work. Please ask your student for a new one."),
    "expired": _l("This link has expired. Please ask your student for a new one."),
    "revoked": _l("This link is no longer active. Please ask your student for a new one."),
    "ended": _l("This link is no longer active. Thank you for helping your student."),
    "no_consent": _l("This link is not active yet. Please ask your student."),
    "timeout": _l("This page has timed out. Please open your link again."),
    "finished": _l("You have finished. Thank you! To see your answers, open your link again."),
}


class LinkProblem(DomainError):
    """The link cannot be used (``reason``: a key of PROBLEMS); shown in ``language``."""

    def __init__(self, reason: str, language: str | None = None):
        super().__init__(PROBLEMS[reason])
        self.reason = reason
        self.language = language


class AnswerError(DomainError):
    """The form is not complete or not valid; ``errors`` maps fields to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(str(m) for m in errors.values()), next(iter(errors), None))
        self.errors = errors


def _entry_for(invitation: PatientInvitation) -> PanelEntry | None:
    return db.session.scalar(
        select(PanelEntry)
        .where(
            PanelEntry.student_id == invitation.student_id,
            PanelEntry.patient_id == invitation.patient_id,
        )
        .order_by(PanelEntry.consent_date.desc())
        .limit(1)
    )


def language_of(invitation: PatientInvitation) -> str | None:
    """The language the patient last chose on this link's pages, else the one on their record."""
    return invitation.language or invitation.patient.preferred_language


def remember_language(invitation: PatientInvitation, language: str) -> None:
    """Kept on the invitation, so reopening the link (another day, another phone) keeps it."""
    invitation.language = language
    db.session.flush()


def check(
    invitation: PatientInvitation | None, opened_at: datetime | None = None
) -> PatientInvitation:
    """Raise :class:`LinkProblem` unless the link may be used right now.

    ``opened_at``: when this patient opened the link, given only when they send answers. A
    page opened before the link expired takes the answers for PATIENT_LINK_GRACE_MINUTES
    more: nobody loses what they typed because the clock passed midnight meanwhile.
    """
    if invitation is None:
        raise LinkProblem("unknown")
    language = language_of(invitation)
    if invitation.revoked_at:
        raise LinkProblem("revoked", language)
    now = utcnow()
    if invitation.expires_at <= now and not _in_grace(invitation, opened_at, now):
        raise LinkProblem("expired", language)
    if not invitation.patient.active:
        raise LinkProblem("ended", language)
    entry = _entry_for(invitation)
    if entry is None or entry.consent_date is None:
        raise LinkProblem("no_consent", language)
    if not entry.is_active_on(clock.today()):
        raise LinkProblem("ended", language)
    return invitation


def _in_grace(invitation: PatientInvitation, opened_at: datetime | None, now: datetime) -> bool:
    if opened_at is None or opened_at >= invitation.expires_at:
        return False
    grace = timedelta(minutes=current_app.config["PATIENT_LINK_GRACE_MINUTES"])
    return now < invitation.expires_at + grace


def find(token: str) -> PatientInvitation:
    """The invitation a token opens; forged, truncated and unknown tokens look alike."""
    if not looks_like_token(token):
        raise LinkProblem("unknown")
    invitation = db.session.scalar(
        select(PatientInvitation)
        .where(PatientInvitation.token_hash == hash_token(token))
        .options(selectinload(PatientInvitation.patient), selectinload(PatientInvitation.student))
    )
    return check(invitation)


def load(
    invitation_id: int | None, opened: datetime, *, answering: bool = False
) -> PatientInvitation:
    """The invitation of the current patient session (opened at ``opened``), checked again;
    ``answering``: sending answers, allowed in the grace period (see :func:`check`)."""
    invitation = check(
        db.session.get(PatientInvitation, invitation_id) if invitation_id else None,
        opened if answering else None,
    )
    ended = invitation.sessions_ended_at
    if ended is not None and opened <= ended:
        raise LinkProblem("finished", language_of(invitation))
    return invitation


def end_sessions(invitation_id: int | None) -> None:
    """Close every patient page opened from this link so far (on the server, not only in
    the browser that asked)."""
    invitation = db.session.get(PatientInvitation, invitation_id) if invitation_id else None
    if invitation is not None:
        invitation.sessions_ended_at = utcnow()
        db.session.flush()


def _program_of(invitation: PatientInvitation) -> Program | None:
    """The student's program (their latest cohort's), the one the patient is helping."""
    return latest_program_of(invitation.student_id)


def school_name(invitation: PatientInvitation) -> str | None:
    """The school a patient page names: the program's institution, else the program."""
    program = _program_of(invitation)
    if program is None:
        return None
    return program.institution or program.name


def instrument_for(invitation: PatientInvitation) -> FeedbackInstrument | None:
    """The student's program's instrument today; answers keep the version they were given on."""
    program = _program_of(invitation)
    instrument = program.feedback_instrument if program is not None else None
    if instrument is None:
        from clerkship import seeds

        instrument = seeds.default_instrument()
    return instrument


def _claim(invitation: PatientInvitation) -> None:
    """Lock the invitation's row until this transaction ends, and read it afresh.

    Two sends at once (a double click, the link open in two tabs) then run one after the
    other, and the second sees the first one's answers as already given.
    """
    db.session.refresh(invitation, with_for_update=True)


def _name_choice_errors(show_name: str) -> dict[str, str]:
    """Every patient form asks the same question about their name (visit/forms.py)."""
    if show_name in ("yes", "no"):
        return {}
    return {"show_name": str(_l("Please choose whether your student may see your name."))}


# --- feedback --------------------------------------------------------------------------------

NOT_APPLICABLE = "na"


@dataclass
class FeedbackAnswers:
    values: dict[str, str] = field(default_factory=dict)  # item key -> "1".."5" | "na" | ""
    anything_else: str = ""
    hope_next: str = ""
    show_name: str = ""  # "yes" | "no"
    allow_quotes: bool = False
    few_ok: bool = False  # the patient saw the gentle note on few answers and sends anyway


class FewAnswers(AnswerError):
    """Most questions are unanswered: said gently once; sending again is fine."""


def submit_feedback(
    invitation: PatientInvitation,
    instrument: FeedbackInstrument,
    answers: FeedbackAnswers,
    *,
    language: str,
    max_text: int,
) -> PatientFeedback:
    if invitation.purpose is not InvitationPurpose.FEEDBACK:
        raise LinkProblem("unknown")
    _claim(invitation)
    if invitation.used_at:
        raise AnswerError({"form": str(_l("You have already answered. Thank you!"))})
    scale = {str(option["value"]) for option in instrument.scale}
    errors: dict[str, str] = {}
    chosen: dict[int, int | None] = {}
    for item in instrument.items:
        raw = (answers.values.get(item.key) or "").strip()
        if not raw:
            continue
        if raw == NOT_APPLICABLE:
            chosen[item.id] = None
        elif raw in scale:
            chosen[item.id] = int(raw)
        else:
            errors[item.key] = str(_l("Please choose one of the answers."))
    texts = {
        "anything_else": answers.anything_else.strip(),
        "hope_next": answers.hope_next.strip(),
    }
    for name, value in texts.items():
        if len(value) > max_text:
            errors[name] = str(_l("Please make this shorter (at most %(n)d letters).", n=max_text))
    errors.update(_name_choice_errors(answers.show_name))
    if not errors and not chosen and not any(texts.values()):
        errors["form"] = str(_l("Please answer at least one question before sending."))
    if errors:
        raise AnswerError(errors)
    if not answers.few_ok and 2 * len(chosen) < len(instrument.items):
        message = _l(
            "You answered %(n)d of %(total)d questions. That is fine: you can send as it is, "
            "or answer a few more first.",
            n=len(chosen),
            total=len(instrument.items),
        )
        raise FewAnswers({"few": str(message)})
    feedback = PatientFeedback(
        instrument_id=instrument.id,
        patient_id=invitation.patient_id,
        student_id=invitation.student_id,
        invitation_id=invitation.id,
        language=language,
        show_name=answers.show_name == "yes",
        allow_quotes=answers.allow_quotes,
        anything_else=texts["anything_else"],
        hope_next=texts["hope_next"],
        answers=[
            FeedbackAnswer(item_id=item_id, value=value) for item_id, value in chosen.items()
        ],
    )
    db.session.add(feedback)
    invitation.used_at = utcnow()
    db.session.flush()
    # The audit log records that an answer arrived, never what it says.
    audit.record(invitation.patient, "feedback.submitted", feedback, after={"via": invitation.id})
    return feedback


def withdraw(invitation: PatientInvitation) -> None:
    """The patient takes their answers back through the same link, until it expires."""
    _claim(invitation)
    feedback = invitation.feedback
    if feedback is None:
        raise AnswerError({"form": str(_l("There is nothing to withdraw."))})
    audit.record(invitation.patient, "feedback.withdrawn", feedback, after={"via": invitation.id})
    db.session.delete(feedback)
    invitation.withdrawn_at = utcnow()
    end_sessions(invitation.id)


# --- input on a goal -------------------------------------------------------------------------


def submit_goal_input(
    invitation: PatientInvitation, *, view: str, matters: bool, show_name: str, max_text: int
) -> None:
    """The patient's words join the goal's thread as a comment (and an endorsement)."""
    from clerkship.goals import service as goals

    if invitation.purpose is not InvitationPurpose.GOAL_INPUT or invitation.goal is None:
        raise LinkProblem("unknown")
    _claim(invitation)
    if invitation.used_at:
        raise AnswerError({"form": str(_l("You have already sent your view. Thank you!"))})
    view = view.strip()
    if len(view) > max_text:
        raise AnswerError(
            {"view": str(_l("Please make this shorter (at most %(n)d letters).", n=max_text))}
        )
    if errors := _name_choice_errors(show_name):
        raise AnswerError(errors)
    if not view and not matters:
        raise AnswerError({"form": str(_l("Please write your view or tick the box first."))})
    patient, goal = invitation.patient, invitation.goal
    named = show_name == "yes"
    try:
        if view:
            goals.add_note(patient, goal, ContributionKind.COMMENT, view, show_name=named)
        if matters and not goals.has_endorsed(goal, patient):
            goals.endorse(patient, goal, show_name=named)
    except goals.EditConflict as error:
        # The student saved the goal at that very moment: nothing was sent, nothing is wrong
        # with the link, and what the patient wrote comes back for them to send again.
        message = _l(
            "The goal changed just as you sent this. "
            "Your words are below: please press Send again."
        )
        raise AnswerError({"form": str(message)}) from error
    except goals.GoalError as error:
        raise LinkProblem("revoked", patient.preferred_language) from error
    invitation.used_at = utcnow()
    db.session.flush()
