"""Accounts as the administrator keeps them: create, correct, change the role.

The same write path as the roster import and the director's forms (``service.save_person``,
``service.set_active``, ``service.send_reset_link``): the same uniqueness rules, the same
``user.created`` / ``user.updated`` audit rows. Who may do it is
:func:`clerkship.permissions.can_edit_account`.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import select

from clerkship import audit, permissions
from clerkship.extensions import db
from clerkship.models import Role, User
from clerkship.people.service import PeopleError, PersonDetails, refuse_taken_external_id

# Patients are added by their student or director on a panel (with consent), never here.
ACCOUNT_ROLES = (Role.STUDENT, Role.PRECEPTOR, Role.DIRECTOR, Role.ADMIN)
NAME_MAX = User.__table__.c.name.type.length


def _clean(details: PersonDetails) -> PersonDetails:
    name = " ".join(details.name.split())
    if not name:
        raise PeopleError(_("Give the person's name."), "name")
    if len(name) > NAME_MAX:
        raise PeopleError(_("Keep the name under %(n)s characters.", n=NAME_MAX), "name")
    if details.role not in ACCOUNT_ROLES:
        raise PeopleError(_("Choose a role."), "role")
    try:
        email = validate_email(details.email.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise PeopleError(_("Give an e-mail address like name@school.edu."), "email") from None
    external_id = (details.external_id or "").strip() or None
    return PersonDetails(details.role, email.lower(), name, external_id)


def _refuse_taken_email(email: str, person: User | None) -> None:
    holder = db.session.scalar(select(User).where(User.email == email))
    if holder is not None and holder is not person:
        raise PeopleError(_("%(email)s already has an account.", email=email), "email")


def create_account(actor: User, details: PersonDetails) -> User:
    """A new account, in no program yet (a director pairs or enrols it; a director account is
    named on its program's page). It has no password: send a set-password link."""
    if not permissions.can_manage_accounts(actor):
        raise PeopleError(_("Only an administrator creates accounts."))
    details = _clean(details)
    _refuse_taken_email(details.email, None)
    refuse_taken_external_id(details.external_id, None)
    person = User(
        role=details.role, email=details.email, name=details.name, external_id=details.external_id
    )
    db.session.add(person)
    db.session.flush()
    audit.record(
        actor, "user.created", person, after={"role": details.role.value, "name": person.name}
    )
    return person


def has_program_records(person: User) -> bool:
    """Linked to a program (enrolled, paired, on a panel, directing one): their records were
    made in that role, so the role stays (make a second account instead)."""
    return bool(permissions.programs_of_person(person) or person.directed_programs)


def change_account(actor: User, person: User, details: PersonDetails) -> bool:
    """Correct a name, e-mail or external id; change the role of an account with no records.
    Returns whether anything changed."""
    if not permissions.can_edit_account(actor, person):
        raise PeopleError(_("You cannot change this account."))
    details = _clean(details)
    _refuse_taken_email(details.email, person)
    refuse_taken_external_id(details.external_id, person)
    if details.role is not person.role:
        if person.id == actor.id:
            raise PeopleError(_("You cannot change your own role."), "role")
        if has_program_records(person):
            raise PeopleError(
                _(
                    "%(name)s has records as %(role)s in a program, so the role stays. "
                    "Create a second account for the new role.",
                    name=person.name,
                    role=person.role.label,
                ),
                "role",
            )
    before = {
        "name": person.name,
        "email": person.email,
        "role": person.role.value,
        "external_id": person.external_id,
    }
    after = {
        "name": details.name,
        "email": details.email,
        "role": details.role.value,
        "external_id": details.external_id,
    }
    if before == after:
        return False
    person.name, person.email = details.name, details.email
    person.role, person.external_id = details.role, details.external_id
    if before["role"] != after["role"] or before["email"] != after["email"]:
        # A new role or sign-in address: sessions opened under the old one end now.
        person.rotate_session_token()
    db.session.flush()
    changed = {k for k in before if before[k] != after[k]}
    audit.record(
        actor,
        "user.updated",
        person,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    return True
