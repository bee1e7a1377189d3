"""Pairings and accounts, as a program director changes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from clerkship import audit, clock, mail, permissions
from clerkship.auth import sessions
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.models import DISCIPLINES, Assignment, Cohort, Enrollment, Role, User


class PeopleError(DomainError):
    """A rule of people was broken (see clerkship.domain)."""


@dataclass
class Pairing:
    preceptor_id: int | None
    discipline: str
    start_date: date | None
    end_date: date | None = None


def _cohort_of(student: User) -> Cohort | None:
    return db.session.scalar(
        select(Cohort)
        .join(Enrollment, Enrollment.cohort_id == Cohort.id)
        .where(Enrollment.student_id == student.id)
        .order_by(Cohort.start_date.desc())
        .limit(1)
    )


def preceptors() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.PRECEPTOR, User.active.is_(True))
            .order_by(User.name)
        )
    )


def pair(director: User, student: User, pairing: Pairing) -> Assignment:
    cohort = _cohort_of(student)
    if cohort is None or not permissions.can_manage_program(director, cohort.program):
        raise PeopleError(_("This student is not in one of your programs."))
    preceptor = db.session.get(User, pairing.preceptor_id) if pairing.preceptor_id else None
    if preceptor is None or preceptor.role is not Role.PRECEPTOR or not preceptor.active:
        raise PeopleError(_("Choose a preceptor."), "preceptor")
    if pairing.discipline not in DISCIPLINES:
        raise PeopleError(_("Choose a discipline."), "discipline")
    if pairing.start_date is None:
        raise PeopleError(_("Give the start date."), "start_date")
    if pairing.end_date and pairing.end_date < pairing.start_date:
        raise PeopleError(_("The pairing cannot end before it starts."), "end_date")
    clash = db.session.scalar(
        select(Assignment).where(
            Assignment.student_id == student.id,
            Assignment.discipline == pairing.discipline,
            Assignment.end_date.is_(None) | (Assignment.end_date >= pairing.start_date),
            Assignment.start_date <= (pairing.end_date or date.max),
        )
    )
    if clash is not None:
        raise PeopleError(
            _(
                "%(student)s already has %(preceptor)s for %(discipline)s then; end that "
                "pairing first.",
                student=student.name,
                preceptor=clash.preceptor.name,
                discipline=pairing.discipline,
            ),
            "discipline",
        )
    assignment = Assignment(
        cohort_id=cohort.id,
        student_id=student.id,
        preceptor_id=preceptor.id,
        discipline=pairing.discipline,
        start_date=pairing.start_date,
        end_date=pairing.end_date,
    )
    db.session.add(assignment)
    db.session.flush()
    audit.record(
        director,
        "assignment.created",
        assignment,
        after={"student": student.id, "preceptor": preceptor.id, "discipline": pairing.discipline},
    )
    return assignment


def end_pairing(director: User, assignment: Assignment) -> None:
    """Access ends today; the history (and what the preceptor signed) stays."""
    today = clock.today()
    last_day = max(assignment.start_date, today - timedelta(days=1))
    if assignment.end_date is not None and assignment.end_date <= last_day:
        raise PeopleError(_("This pairing has already ended."))
    before = assignment.end_date
    assignment.end_date = last_day
    db.session.flush()
    audit.record(
        director, "assignment.ended", assignment, before={"end": before}, after={"end": last_day}
    )


def set_active(actor: User, person: User, active: bool) -> None:
    if person.id == actor.id:
        raise PeopleError(_("You cannot deactivate your own account."))
    person.active = active
    # A new session token ends every session the person has, at once.
    person.rotate_session_token()
    if not active:
        sessions.end_all(person, "deactivated")
    db.session.flush()
    audit.record(actor, "user.activated" if active else "user.deactivated", person)


def send_reset_link(actor: User, person: User) -> None:
    """Never set someone's password for them: send them a link to choose one."""
    from clerkship.auth import links

    if not person.email:
        raise PeopleError(_("This person has no e-mail address."))
    if not person.active:
        raise PeopleError(_("Reactivate the account first."))
    mail.send(
        person.email,
        "password_link_from_office",
        name=person.name,
        link=links.link_for(person),
    )
    audit.record(actor, "user.reset_link_sent", person)
