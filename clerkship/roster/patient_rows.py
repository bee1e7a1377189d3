"""Rows of a patients file: each becomes the panel form's save of a patient."""

from __future__ import annotations

from flask_babel import gettext as _

from clerkship.models import Cohort, User
from clerkship.panels import service as panels
from clerkship.panels.service import PatientRecord
from clerkship.roster.rows import EMAIL, Plan, dedupe, error, users_by_external_id


def plan_patients(plan: Plan, cohort: Cohort) -> None:
    for row in plan.rows:
        values = row.values
        values["language"] = (values["language"] or "en").lower()
        values["email"] = values["email"].lower()
        if not values["external_id"]:
            error(row, _("external_id is empty"))
        if not values["name"]:
            error(row, _("the name is empty"))
        if values["language"] not in ("en", "es"):
            error(row, _("language must be en or es"))
        if values["email"] and not EMAIL.match(values["email"]):
            error(row, _("“%(value)s” is not an e-mail address", value=values["email"]))
    dedupe(plan, lambda r: r.values["external_id"])
    existing = users_by_external_id(r.values["external_id"] for r in plan.rows)
    for row in plan.rows:
        if row.status != "new":
            continue
        values = row.values
        user = existing.get(values["external_id"])
        if user is not None:
            same = (user.name, user.preferred_language, user.email or "") == (
                values["name"],
                values["language"],
                values["email"],
            )
            row.status, row.reason = (
                ("unchanged", "") if same else ("update", _("name, language or e-mail"))
            )
        record = PatientRecord(
            values["external_id"], values["name"], values["language"], values["email"]
        )
        row.apply = _patient_writer(cohort, record)


def _patient_writer(cohort: Cohort, record: PatientRecord):
    def write(actor: User, invited: list[User]) -> None:
        panels.save_patient(actor, cohort, record)

    return write
