"""Pairings and accounts, as a program director changes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from clerkship import audit, clock, mail, permissions
from clerkship.auth import sessions
from clerkship.directory import queries
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


def other_program_message(person: User) -> str:
    """The one reason given, by forms and imports alike, for someone of another program."""
    return _(
        "%(who)s belongs to another program; ask its director.",
        who=person.email or person.external_id or person.name,
    )


def refuse_other_program(person: User, cohort: Cohort, field: str | None = None) -> None:
    """Students and patients belong to one program: never enrol or place another's."""
    if permissions.belongs_to_other_program(person, cohort.program_id):
        raise PeopleError(other_program_message(person), field)


def refuse_unless_changeable(actor: User, person: User, field: str | None = None) -> None:
    if not permissions.can_change_person(actor, person):
        raise PeopleError(other_program_message(person), field)


def enrolment_problem(student: User, cohort: Cohort) -> str | None:
    """Why ``student`` cannot be paired or given patients in ``cohort`` (None: they can)."""
    if permissions.belongs_to_other_program(student, cohort.program_id):
        return other_program_message(student)
    enrolled = db.session.scalar(
        select(Enrollment.id).where(
            Enrollment.cohort_id == cohort.id, Enrollment.student_id == student.id
        )
    )
    if not enrolled:
        return _(
            "%(student)s is not enrolled in %(cohort)s.", student=student.name, cohort=cohort.name
        )
    return None


@dataclass
class PersonDetails:
    role: Role
    email: str
    name: str
    external_id: str | None = None


def refuse_taken_external_id(external_id: str | None, person: User | None) -> None:
    """A school's id names one account (the roster import and the admin's form alike)."""
    if not external_id:
        return
    holder = db.session.scalar(select(User).where(User.external_id == external_id))
    if holder is not None and holder is not person:
        raise PeopleError(
            _("external id %(id)s already belongs to someone else", id=external_id),
            "external_id",
        )


def save_person(actor: User, details: PersonDetails, cohort: Cohort) -> tuple[User, bool]:
    """Create a student or preceptor account for ``cohort``'s program, or update the one with
    this e-mail.

    Returns (person, created). Someone linked to a program the actor does not run is never
    renamed here (see :func:`clerkship.permissions.can_change_person`)."""
    if not permissions.can_manage_program(actor, cohort.program):
        raise PeopleError(_("This cohort is not in one of your programs."))
    email = details.email.strip().lower()
    person = db.session.scalar(select(User).where(User.email == email))
    if person is not None and person.role is not details.role:
        raise PeopleError(
            _("%(email)s already has an account as %(role)s", email=email, role=person.role.label),
            "email",
        )
    refuse_taken_external_id(details.external_id, person)
    if person is None:
        return _new_person(actor, details, email, cohort), True
    external_id = details.external_id or person.external_id
    before = {"name": person.name, "external_id": person.external_id}
    after = {"name": details.name, "external_id": external_id}
    if before != after:
        refuse_unless_changeable(actor, person, "email")
        person.name, person.external_id = details.name, external_id
        db.session.flush()
        audit.record(actor, "user.updated", person, before=before, after=after)
    return person, False


def _new_person(actor: User | None, details: PersonDetails, email: str, cohort: Cohort) -> User:
    person = User(
        role=details.role,
        email=email,
        name=details.name,
        external_id=details.external_id,
        added_by_program_id=cohort.program_id,
    )
    db.session.add(person)
    db.session.flush()
    audit.record(
        actor, "user.created", person, after={"role": details.role.value, "name": person.name}
    )
    return person


def create_student(details: PersonDetails, cohort: Cohort, actor: User | None) -> User:
    """A new student enrolled in ``cohort`` without a director's hand: the opt-in school
    sign-up (clerkship.sso.service.sign_up) decided that the program allows it."""
    email = details.email.strip().lower()
    refuse_taken_external_id(details.external_id, None)
    student = _new_person(actor, details, email, cohort)
    _enrol(actor, cohort, student)
    return student


def enrol(actor: User, cohort: Cohort, student: User) -> Enrollment:
    """Enrol a student in a cohort of the actor's program (once)."""
    if not permissions.can_manage_program(actor, cohort.program):
        raise PeopleError(_("This cohort is not in one of your programs."))
    if student.role is not Role.STUDENT:
        raise PeopleError(_("Only students are enrolled."), "email")
    refuse_other_program(student, cohort, "email")
    current = db.session.scalar(
        select(Enrollment).where(
            Enrollment.cohort_id == cohort.id, Enrollment.student_id == student.id
        )
    )
    if current is not None:
        return current
    return _enrol(actor, cohort, student)


def _enrol(actor: User | None, cohort: Cohort, student: User) -> Enrollment:
    enrollment = Enrollment(cohort_id=cohort.id, student_id=student.id)
    db.session.add(enrollment)
    db.session.flush()
    audit.record(actor, "enrollment.created", enrollment, after={"student": student.id})
    return enrollment


def preceptors(director: User) -> list[User]:
    """The preceptors a director may pick: those of their programs, and accounts not yet in any
    program. Another program's preceptors stay unnamed; pair one by e-mail in a roster import."""
    programs = director.directed_program_ids
    paired_anywhere = select(Assignment.preceptor_id)
    in_no_program = User.id.not_in(paired_anywhere) & User.added_by_program_id.is_(None)
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.role == Role.PRECEPTOR,
                User.active.is_(True),
                User.id.in_(permissions.program_people(programs)) | in_no_program,
            )
            .order_by(User.name)
        )
    )


def pair(
    director: User, student: User, pairing: Pairing, cohort: Cohort | None = None
) -> Assignment:
    """Pair a student of the director's program with a preceptor (the form and the import)."""
    cohort = cohort or queries.latest_cohort_of(student.id)
    if cohort is None or not permissions.can_manage_program(director, cohort.program):
        raise PeopleError(_("This student is not in one of your programs."), "student")
    problem = enrolment_problem(student, cohort)
    if problem:
        raise PeopleError(problem, "student")
    preceptor = db.session.get(User, pairing.preceptor_id) if pairing.preceptor_id else None
    if preceptor is None or preceptor.role is not Role.PRECEPTOR or not preceptor.active:
        raise PeopleError(_("Choose a preceptor."), "preceptor")
    if pairing.discipline not in DISCIPLINES:
        raise PeopleError(_("Choose a discipline."), "discipline")
    if pairing.start_date is None:
        raise PeopleError(_("Give the start date."), "start_date")
    if pairing.end_date and pairing.end_date < pairing.start_date:
        raise PeopleError(_("The pairing cannot end before it starts."), "end_date")
    _refuse_clash(student, pairing.discipline, pairing.start_date, pairing.end_date)
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


def change_pairing_end(director: User, assignment: Assignment, end: date | None) -> None:
    """Move a pairing's end date (a roster import re-sent with a new end)."""
    if not permissions.can_manage_assignment(director, assignment):
        raise PeopleError(_("This student is not in one of your programs."), "student")
    if end and end < assignment.start_date:
        raise PeopleError(_("The pairing cannot end before it starts."), "end_date")
    _refuse_clash(
        assignment.student, assignment.discipline, assignment.start_date, end, but=assignment
    )
    before = assignment.end_date
    assignment.end_date = end
    db.session.flush()
    audit.record(
        director, "assignment.changed", assignment, before={"end": before}, after={"end": end}
    )


def _refuse_clash(
    student: User, discipline: str, start: date, end: date | None, but: Assignment | None = None
) -> None:
    """One preceptor per student and discipline at a time."""
    query = select(Assignment).where(
        Assignment.student_id == student.id,
        Assignment.discipline == discipline,
        Assignment.end_date.is_(None) | (Assignment.end_date >= start),
        Assignment.start_date <= (end or date.max),
    )
    if but is not None:
        query = query.where(Assignment.id != but.id)
    clash = db.session.scalar(query.limit(1))
    if clash is not None:
        raise PeopleError(
            _(
                "%(student)s already has %(preceptor)s for %(discipline)s then; end that "
                "pairing first.",
                student=student.name,
                preceptor=clash.preceptor.name,
                discipline=discipline,
            ),
            "discipline",
        )


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
    refuse_unless_changeable(actor, person)
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
