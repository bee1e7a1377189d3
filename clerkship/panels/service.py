"""Continuity patients on a student's panel, and the invitation links they answer through.

An invitation token is random (192 bits from :mod:`secrets`) and only its SHA-256 is stored,
so a copy of the database cannot be used to answer in a patient's name. A token is bound to
one patient, one student and one purpose, expires, is single-use for submission and can be
revoked. No clinical data is ever asked for: a name or pseudonym, a language, an optional
e-mail, consent and end dates.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from clerkship import audit, clock, mail, permissions
from clerkship.directory import queries
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.models import (
    Cohort,
    GoalShare,
    InvitationPurpose,
    LearningGoal,
    PanelEntry,
    PatientFeedback,
    PatientInvitation,
    Role,
    User,
    utcnow,
)
from clerkship.urls import external_url

TOKEN_BYTES = 24  # 192 bits; the issue asks for at least 128
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")
LANGUAGE_NAMES = {"en": "English", "es": "Español"}
LINK_STATE_LABELS = {
    "open": _l("waiting for the patient"),
    "used": _l("answered"),
    "withdrawn": _l("answers withdrawn"),
    "revoked": _l("revoked"),
    "expired": _l("expired"),
}


class PanelError(DomainError):
    """A rule of the panel or its invitations was broken (see clerkship.domain)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def looks_like_token(token: str) -> bool:
    return bool(TOKEN_PATTERN.match(token or ""))


# --- patients on a panel ---------------------------------------------------------------------


@dataclass
class PatientDetails:
    name: str
    language: str = "en"
    email: str = ""
    consent_date: date | None = None
    end_date: date | None = None


def _check(details: PatientDetails) -> None:
    if not details.name.strip():
        raise PanelError(_("Give a name or a pseudonym."), field="name")
    if details.language not in LANGUAGE_NAMES:
        raise PanelError(_("Choose English or Spanish."), field="language")
    if details.consent_date and details.consent_date > clock.today():
        raise PanelError(_("Consent cannot be dated in the future."), field="consent_date")
    if details.end_date and details.consent_date and details.end_date < details.consent_date:
        raise PanelError(_("The end date cannot be before consent."), field="end_date")


def _refuse_other_program(patient: User, cohort: Cohort, field: str) -> None:
    from clerkship.people.service import other_program_message

    if permissions.belongs_to_other_program(patient, cohort.program_id):
        raise PanelError(other_program_message(patient), field)


def add_patient(actor: User, student: User, details: PatientDetails) -> PanelEntry:
    """Put a continuity patient on ``student``'s panel (an existing patient, by e-mail)."""
    _check(details)
    cohort = queries.latest_cohort_of(student.id)
    if cohort is None:
        raise PanelError(_("This student is not enrolled in a cohort yet."))
    email = details.email.strip().lower() or None
    patient = None
    if email:
        patient = db.session.scalar(select(User).where(User.email == email))
        if patient is not None and patient.role is not Role.PATIENT:
            raise PanelError(_("That e-mail belongs to someone who is not a patient."), "email")
        if patient is not None:
            _refuse_other_program(patient, cohort, "email")
    if patient is None:
        patient = User(
            role=Role.PATIENT,
            name=details.name.strip(),
            email=email,
            added_by_program_id=cohort.program_id,
        )
        db.session.add(patient)
    patient.preferred_language = details.language
    db.session.flush()
    already = db.session.scalar(
        select(PanelEntry.id).where(
            PanelEntry.student_id == student.id,
            PanelEntry.patient_id == patient.id,
            PanelEntry.cohort_id == cohort.id,
        )
    )
    if already is not None:
        raise PanelError(_("This patient is already on the panel."), field="email")
    return place_on_panel(actor, cohort, student, patient, details.consent_date, details.end_date)


def place_on_panel(
    actor: User,
    cohort: Cohort,
    student: User,
    patient: User,
    consent: date | None,
    end: date | None,
) -> PanelEntry:
    """Put ``patient`` on ``student``'s panel in ``cohort``, or move the entry's dates (the
    panel form and the roster import). A patient of another program is refused."""
    from clerkship.people.service import enrolment_problem

    problem = enrolment_problem(student, cohort)
    if problem:
        raise PanelError(problem, "student")
    if not permissions.can_manage_panel(actor, student):
        raise PanelError(_("This student is not in one of your programs."), "student")
    if patient.role is not Role.PATIENT:
        raise PanelError(_("That person is not a patient."), "patient")
    _refuse_other_program(patient, cohort, "patient")
    if consent and consent > clock.today():
        raise PanelError(_("Consent cannot be dated in the future."), field="consent_date")
    if end and consent and end < consent:
        raise PanelError(_("The end date cannot be before consent."), field="end_date")
    entry = db.session.scalar(
        select(PanelEntry).where(
            PanelEntry.student_id == student.id,
            PanelEntry.patient_id == patient.id,
            PanelEntry.cohort_id == cohort.id,
        )
    )
    if entry is not None:
        before = {"consent": entry.consent_date, "end": entry.end_date}
        entry.consent_date, entry.end_date = consent, end
        db.session.flush()
        audit.record(
            actor, "panel.updated", entry, before=before, after={"consent": consent, "end": end}
        )
        return entry
    entry = PanelEntry(
        cohort_id=cohort.id,
        student_id=student.id,
        patient_id=patient.id,
        consent_date=consent,
        end_date=end,
    )
    db.session.add(entry)
    db.session.flush()
    audit.record(
        actor, "panel.added", entry, after={"patient": patient.id, "consent": consent, "end": end}
    )
    return entry


@dataclass
class PatientRecord:
    """A patient as a roster lists them: keyed by the school's external id."""

    external_id: str
    name: str
    language: str = "en"
    email: str = ""


def save_patient(actor: User, cohort: Cohort, record: PatientRecord) -> tuple[User, bool]:
    """Create a patient account, or update the one with this external id — never one of
    another program. Returns (patient, created)."""
    if not permissions.can_manage_program(actor, cohort.program):
        raise PanelError(_("This cohort is not in one of your programs."))
    if not record.name.strip():
        raise PanelError(_("Give a name or a pseudonym."), field="name")
    if record.language not in LANGUAGE_NAMES:
        raise PanelError(_("Choose English or Spanish."), field="language")
    email = record.email.strip().lower() or None
    patient = db.session.scalar(select(User).where(User.external_id == record.external_id))
    if patient is not None and patient.role is not Role.PATIENT:
        raise PanelError(
            _("external id %(id)s belongs to someone who is not a patient", id=record.external_id),
            "external_id",
        )
    if email:
        holder = db.session.scalar(select(User).where(User.email == email))
        if holder is not None and holder is not patient:
            raise PanelError(_("That e-mail is already in use."), field="email")
    after = {"name": record.name.strip(), "language": record.language, "email": email}
    if patient is None:
        patient = User(
            role=Role.PATIENT,
            external_id=record.external_id,
            name=after["name"],
            preferred_language=record.language,
            email=email,
            added_by_program_id=cohort.program_id,
        )
        db.session.add(patient)
        db.session.flush()
        audit.record(actor, "user.created", patient, after={"role": "patient", **after})
        return patient, True
    _refuse_other_program(patient, cohort, "external_id")
    before = {"name": patient.name, "language": patient.preferred_language, "email": patient.email}
    if before != after:
        patient.name = record.name.strip()
        patient.preferred_language, patient.email = record.language, email
        db.session.flush()
        audit.record(actor, "user.updated", patient, before=before, after=after)
    return patient, False


def update_entry(actor: User, entry: PanelEntry, details: PatientDetails) -> None:
    _check(details)
    patient = entry.patient
    email = details.email.strip().lower() or None
    if email and email != patient.email:
        taken = db.session.scalar(select(User.id).where(User.email == email))
        if taken is not None:
            raise PanelError(_("That e-mail is already in use."), field="email")
    before = {
        "name": patient.name,
        "language": patient.preferred_language,
        "consent": entry.consent_date,
        "end": entry.end_date,
    }
    patient.name = details.name.strip()
    patient.preferred_language = details.language
    patient.email = email
    entry.consent_date = details.consent_date
    entry.end_date = details.end_date
    db.session.flush()
    audit.record(
        actor,
        "panel.updated",
        entry,
        before=before,
        after={
            "name": patient.name,
            "language": patient.preferred_language,
            "consent": entry.consent_date,
            "end": entry.end_date,
        },
    )


# --- invitations -----------------------------------------------------------------------------


def invitation_state(invitation: PatientInvitation) -> str:
    """open | used | withdrawn | revoked | expired — in that order of precedence."""
    if invitation.revoked_at:
        return "revoked"
    if invitation.withdrawn_at:
        return "withdrawn"
    if invitation.used_at:
        return "used"
    if invitation.expires_at <= utcnow():
        return "expired"
    return "open"


def create_invitation(
    actor: User,
    entry: PanelEntry,
    purpose: InvitationPurpose,
    *,
    goal: LearningGoal | None = None,
    send_email: bool = False,
) -> tuple[PatientInvitation, str]:
    """A new link for one patient, one student, one purpose. Returns (invitation, token)."""
    if actor.id != entry.student_id:
        raise PanelError(_("Only the student creates invitations for their patients."))
    if entry.consent_date is None:
        raise PanelError(_("Record the patient’s consent before inviting them."))
    if not entry.is_active_on(clock.today()):
        raise PanelError(_("This patient is no longer on the panel."))
    if purpose is InvitationPurpose.GOAL_INPUT:
        shared = goal is not None and db.session.scalar(
            select(GoalShare.id).where(
                GoalShare.goal_id == goal.id, GoalShare.user_id == entry.patient_id
            )
        )
        if goal is None or not shared or goal.student_id != entry.student_id:
            raise PanelError(_("Choose a goal you have shared with this patient."), "goal")
        from clerkship.goals.service import CLOSED

        if goal.status in CLOSED:
            raise PanelError(_("That goal is closed; choose an open one."), "goal")
    else:
        goal = None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation = PatientInvitation(
        token_hash=hash_token(token),
        patient_id=entry.patient_id,
        student_id=entry.student_id,
        purpose=purpose,
        goal_id=goal.id if goal else None,
        created_by_id=actor.id,
        expires_at=utcnow() + timedelta(days=current_app.config["PATIENT_LINK_DAYS"]),
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        actor,
        "invitation.created",
        invitation,
        after={"purpose": purpose.value, "goal": goal and goal.id},
    )
    if send_email:
        _email(entry.patient, entry.student, invitation, token)
    return invitation, token


def link_for(token: str) -> str:
    return external_url("visit.open_link", token=token)


def _email(patient: User, student: User, invitation: PatientInvitation, token: str) -> None:
    if not patient.email:
        raise PanelError(_("This patient has no e-mail address on file."), field="send_email")
    mail.send(
        patient.email,
        "patient_invitation",
        locale=patient.preferred_language,
        name=patient.name,
        student=student,
        for_feedback=invitation.purpose is InvitationPurpose.FEEDBACK,
        link=link_for(token),
        expires_on=invitation.expires_at,
    )


def revoke_invitation(actor: User, invitation: PatientInvitation) -> None:
    if invitation_state(invitation) not in ("open", "used"):
        raise PanelError(_("This link no longer works, so there is nothing to revoke."))
    invitation.revoked_at = utcnow()
    db.session.flush()
    audit.record(actor, "invitation.revoked", invitation)


def remove_feedback(director: User, feedback: PatientFeedback) -> None:
    """On the patient's request: the response goes; the audit keeps that it happened only."""
    audit.record(
        director,
        "feedback.removed",
        feedback,
        after={"student": feedback.student_id, "created": feedback.created_at},
    )
    db.session.delete(feedback)
    db.session.flush()
