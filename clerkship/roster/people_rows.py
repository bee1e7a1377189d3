"""Rows of a students or preceptors file: each becomes the people form's save (and enrolment)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from clerkship.extensions import db
from clerkship.models import Cohort, Enrollment, Role, User
from clerkship.people import service as people
from clerkship.people.service import PersonDetails
from clerkship.roster.rows import (
    EMAIL,
    Plan,
    dedupe,
    error,
    users_by_email,
    users_by_external_id,
)


def plan_people(plan: Plan, cohort: Cohort) -> None:
    role = Role.STUDENT if plan.kind.name == "students" else Role.PRECEPTOR
    for row in plan.rows:
        row.values["email"] = row.values["email"].lower()
        if not EMAIL.match(row.values["email"]):
            error(row, _("“%(value)s” is not an e-mail address", value=row.values["email"]))
        if not row.values["name"]:
            error(row, _("the name is empty"))
    dedupe(plan, lambda r: r.values["email"])
    existing = users_by_email(r.values["email"] for r in plan.rows)
    enrolled = set(
        db.session.scalars(select(Enrollment.student_id).where(Enrollment.cohort_id == cohort.id))
    )
    # Checked for the whole file at once: new accounts are not tried one by one (a file of
    # 5,000 new students previews in seconds), and this is all that could refuse them.
    ids_taken = {
        external: user.email
        for external, user in users_by_external_id(
            r.values["external_id"] for r in plan.rows
        ).items()
    }
    for row in plan.rows:
        if row.status != "new":
            continue
        external = row.values["external_id"]
        if external and ids_taken.get(external, row.values["email"]) != row.values["email"]:
            error(row, _("external id %(id)s already belongs to someone else", id=external))
            continue
        details = PersonDetails(
            role, row.values["email"], row.values["name"], row.values["external_id"] or None
        )
        user = existing.get(details.email)
        changes = []
        if user is not None and user.role is role:
            if user.name != details.name:
                changes.append(_("name"))
            if details.external_id and user.external_id != details.external_id:
                changes.append(_("external id"))
        needs_enrolment = role is Role.STUDENT and (user is None or user.id not in enrolled)
        if user is not None and needs_enrolment:
            changes.append(_("enrol in %(cohort)s", cohort=cohort.name))
        if user is not None and changes:
            row.status, row.reason = "update", ", ".join(changes)
        elif user is not None:
            row.status = "unchanged"
        # Unchanged rows are tried too: the services refuse someone of another program.
        row.apply = _person_writer(details, cohort, needs_enrolment)
        row.tried = user is not None


def _person_writer(details: PersonDetails, cohort: Cohort, enrol: bool):
    def write(actor: User, invited: list[User]) -> None:
        user, created = people.save_person(actor, details, cohort)
        if created:
            invited.append(user)
        if enrol:
            people.enrol(actor, cohort, user)

    return write
