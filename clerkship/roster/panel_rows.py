"""Rows of a panels file: each becomes the panel form's placing of a patient with a student."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from clerkship import clock
from clerkship.extensions import db
from clerkship.models import Cohort, PanelEntry, Role, User
from clerkship.panels import service as panels
from clerkship.roster.rows import (
    Plan,
    dedupe,
    error,
    parse_date,
    users_by_email,
    users_by_external_id,
)


def plan_panels(plan: Plan, cohort: Cohort) -> None:
    students = users_by_email(r.values["student_email"].lower() for r in plan.rows)
    patients = users_by_external_id(r.values["patient_external_id"] for r in plan.rows)
    for row in plan.rows:
        values = row.values
        values["student_email"] = values["student_email"].lower()
        consent = parse_date(values["consent_date"], row, "consent_date")
        end = parse_date(values["end_date"], row, "end_date")
        if row.status == "error":
            continue
        student, patient = (
            students.get(values["student_email"]),
            patients.get(values["patient_external_id"]),
        )
        if student is None or student.role is not Role.STUDENT:
            error(row, _("no student with e-mail %(email)s", email=values["student_email"]))
        elif patient is None or patient.role is not Role.PATIENT:
            error(
                row,
                _(
                    "no patient with id %(id)s (import patients first)",
                    id=values["patient_external_id"],
                ),
            )
        elif end and consent and end < consent:
            error(row, _("the panel entry ends before consent"))
        elif consent and consent > clock.today():
            error(row, _("consent cannot be in the future"))
    dedupe(plan, lambda r: (r.values["student_email"], r.values["patient_external_id"]))
    for row in plan.rows:
        if row.status != "new":
            continue
        values = row.values
        student, patient = (
            students[values["student_email"]],
            patients[values["patient_external_id"]],
        )
        # Both dates were checked in the first pass.
        consent = date.fromisoformat(values["consent_date"]) if values["consent_date"] else None
        end = date.fromisoformat(values["end_date"]) if values["end_date"] else None
        current = db.session.scalar(
            select(PanelEntry).where(
                PanelEntry.student_id == student.id,
                PanelEntry.patient_id == patient.id,
                PanelEntry.cohort_id == cohort.id,
            )
        )
        if current is not None and (current.consent_date, current.end_date) == (consent, end):
            row.status = "unchanged"
            continue
        if current is not None:
            row.status, row.reason = "update", _("consent or end date")
        row.apply = _panel_writer(cohort, student, patient, consent, end)


def _panel_writer(cohort: Cohort, student: User, patient: User, consent, end):
    def write(actor: User, invited: list[User]) -> None:
        panels.place_on_panel(actor, cohort, student, patient, consent, end)

    return write
