"""Rows of an assignments file: each becomes the pairing form's pair (or a new end date)."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from clerkship.extensions import db
from clerkship.models import DISCIPLINES, Assignment, Cohort, Role, User
from clerkship.people import service as people
from clerkship.people.service import Pairing
from clerkship.roster.rows import Plan, dedupe, error, parse_date, users_by_email


def plan_assignments(plan: Plan, cohort: Cohort) -> None:
    people_by_email = users_by_email(
        [r.values["student_email"].lower() for r in plan.rows]
        + [r.values["preceptor_email"].lower() for r in plan.rows]
    )
    for row in plan.rows:
        values = row.values
        values["student_email"] = values["student_email"].lower()
        values["preceptor_email"] = values["preceptor_email"].lower()
        start = parse_date(values["start_date"], row, "start_date")
        end = parse_date(values["end_date"], row, "end_date")
        student, preceptor = (
            people_by_email.get(values["student_email"]),
            people_by_email.get(values["preceptor_email"]),
        )
        if start is None and not values["start_date"]:
            error(row, _("start_date is empty"))
        elif start and end and end < start:
            error(row, _("the assignment ends before it starts"))
        if student is None or student.role is not Role.STUDENT:
            error(
                row,
                _(
                    "no student with e-mail %(email)s (import students first)",
                    email=values["student_email"],
                ),
            )
        if preceptor is None or preceptor.role is not Role.PRECEPTOR:
            error(
                row,
                _(
                    "no preceptor with e-mail %(email)s (import preceptors first)",
                    email=values["preceptor_email"],
                ),
            )
        if values["discipline"] not in DISCIPLINES:
            error(row, _("unknown discipline; use one of: %(list)s", list=", ".join(DISCIPLINES)))
    # One preceptor per student and discipline in a file: twice is a mistake to fix.
    dedupe(
        plan,
        lambda r: (r.values["student_email"], r.values["preceptor_email"], r.values["discipline"]),
    )
    for row in plan.rows:
        if row.status != "new":
            continue
        values = row.values
        student = people_by_email[values["student_email"]]
        pairing = Pairing(
            preceptor_id=people_by_email[values["preceptor_email"]].id,
            discipline=values["discipline"],
            start_date=date.fromisoformat(values["start_date"]),
            end_date=parse_date(values["end_date"], row, "end_date"),
        )
        current = db.session.scalar(
            select(Assignment).where(
                Assignment.student_id == student.id,
                Assignment.preceptor_id == pairing.preceptor_id,
                Assignment.discipline == pairing.discipline,
                Assignment.start_date == pairing.start_date,
            )
        )
        if current is not None and current.cohort.program_id != cohort.program_id:
            error(row, people.other_program_message(student))
            continue
        if current is not None and current.end_date == pairing.end_date:
            row.status = "unchanged"
            continue
        if current is not None:
            row.status, row.reason = "update", _("end date")
        row.apply = _assignment_writer(cohort, student, pairing, current)


def _assignment_writer(cohort: Cohort, student: User, pairing: Pairing, current):
    def write(actor: User, invited: list[User]) -> None:
        if current is None:
            people.pair(actor, student, pairing, cohort)
        else:
            people.change_pairing_end(actor, current, pairing.end_date)

    return write
