"""Planning a file for its preview: read it, then try every row through the services the
forms use, in a savepoint that is rolled back, so the preview shows exactly the errors the
confirm would meet. Nothing is written."""

from __future__ import annotations

from clerkship.extensions import db
from clerkship.models import Cohort, User
from clerkship.panels.service import PanelError
from clerkship.people.service import PeopleError
from clerkship.roster.pairing_rows import plan_assignments
from clerkship.roster.panel_rows import plan_panels
from clerkship.roster.patient_rows import plan_patients
from clerkship.roster.people_rows import plan_people
from clerkship.roster.reading import KINDS, read
from clerkship.roster.rows import Plan, RowPlan, check_lengths


def plan(kind_name: str, raw: bytes, cohort: Cohort, actor: User) -> Plan:
    """Read the file and try every row through the services the forms use, in a savepoint
    that is rolled back: the preview shows exactly the errors the confirm would meet."""
    kind = KINDS[kind_name]
    rows, warnings = read(kind, raw)
    result = Plan(kind, [RowPlan(number, values) for number, values in rows], warnings)
    for row in result.rows:
        check_lengths(row)
    {
        "students": plan_people,
        "preceptors": plan_people,
        "patients": plan_patients,
        "assignments": plan_assignments,
        "panels": plan_panels,
    }[kind_name](result, cohort)
    _try_rows(result, actor)
    return result


# What a service refuses, with the reason a person can act on (the same as the form's).
ROW_ERRORS: tuple[type[Exception], ...] = (PeopleError, PanelError)


def _try_rows(plan: Plan, actor: User) -> None:
    trial = db.session.begin_nested()
    try:
        for row in plan.rows:
            if row.apply is None or not row.tried:
                continue
            step = db.session.begin_nested()
            try:
                row.apply(actor, [])
            except ROW_ERRORS as error:
                step.rollback()
                row.apply = None
                row.status, row.reason = "error", str(error)  # the service's message
            else:
                step.commit()
    finally:
        trial.rollback()
