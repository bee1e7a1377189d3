"""Roster imports from CSV: upload → preview (every row new / update / unchanged / error,
with the reason) → confirm. Nothing is written before confirm; confirm writes every row or
none; importing the same file again changes nothing (rows are keyed by e-mail or id).

Real spreadsheets are handled: UTF-8 with or without BOM, Excel's Windows encoding, comma,
semicolon or tab, headers in any order and case, trailing spaces, duplicate rows, unknown
columns (ignored with a warning).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from clerkship import audit, clock, mail
from clerkship.csvfile import to_csv
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.forminput import clean_text
from clerkship.models import (
    DISCIPLINES,
    Assignment,
    Cohort,
    Enrollment,
    PanelEntry,
    Role,
    User,
)
from clerkship.panels import service as panels
from clerkship.panels.service import PanelError, PatientRecord
from clerkship.people import service as people
from clerkship.people.service import Pairing, PeopleError, PersonDetails

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 1_000  # a roster needs a handful; 500,000 made a 35 MB preview
MAX_WARNINGS = 10  # about unused columns; the rest are counted in one line
NOT_CSV = _l(
    "This is not a CSV file (it looks like a spreadsheet or a binary file). Save it as CSV first."
)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Kind:
    name: str
    label: object
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    example: tuple[tuple[str, ...], ...] = ()


KINDS = {
    k.name: k
    for k in (
        Kind(
            "students",
            _l("Students"),
            ("email", "name"),
            ("external_id",),
            (("ana.lopez@school.edu", "Ana López", "S-1001"),),
        ),
        Kind(
            "preceptors",
            _l("Preceptors"),
            ("email", "name"),
            ("external_id",),
            (("dr.kim@clinic.org", "Dr. Min Kim", "P-200"),),
        ),
        Kind(
            "patients",
            _l("Continuity patients"),
            ("external_id", "name"),
            ("language", "email"),
            (("PT-0001", "Mrs. A.", "es", ""),),
        ),
        Kind(
            "assignments",
            _l("Pairings (assignments)"),
            ("student_email", "preceptor_email", "discipline", "start_date"),
            ("end_date",),
            (("ana.lopez@school.edu", "dr.kim@clinic.org", "Family medicine", "2026-07-01", ""),),
        ),
        Kind(
            "panels",
            _l("Panels (patients per student)"),
            ("student_email", "patient_external_id"),
            ("consent_date", "end_date"),
            (("ana.lopez@school.edu", "PT-0001", "2026-07-15", ""),),
        ),
    )
}


class FileProblem(DomainError):
    """The whole file cannot be read; nothing in it is looked at further."""

    def __init__(self, message: Any, field: str | None = "file"):
        super().__init__(message, field)  # shown beside the upload's file field


@dataclass
class RowPlan:
    number: int  # the line in the spreadsheet (header is line 1)
    values: dict[str, str]
    status: str = "new"  # new | update | unchanged | error
    reason: str = ""
    # Writes this row through the services: apply(actor, invited); None for error rows.
    apply: Callable[[User, list[User]], None] | None = None
    # Tried in a rolled-back savepoint at preview (False only for brand-new accounts).
    tried: bool = True


@dataclass
class Plan:
    kind: Kind
    rows: list[RowPlan] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        result = {"new": 0, "update": 0, "unchanged": 0, "error": 0}
        for row in self.rows:
            result[row.status] += 1
        return result

    @property
    def has_errors(self) -> bool:
        return any(row.status == "error" for row in self.rows)


def template_csv(kind: Kind) -> str:
    return to_csv([[*kind.required, *kind.optional], *kind.example])


# --- reading the file ------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    # Anywhere in the file, not only at its start: rows are tried against the database at
    # preview, and PostgreSQL refuses text with NUL characters.
    if b"\x00" in raw:
        raise FileProblem(str(NOT_CSV))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")  # Excel's "CSV" on Windows
    except UnicodeDecodeError:
        raise FileProblem(
            _("The file's text encoding is not readable. Save it as CSV UTF-8.")
        ) from None


# What spreadsheets call our columns.
ALIASES = {"e_mail": "email", "email_address": "email", "mail": "email", "full_name": "name"}


def _header(name: str) -> str:
    cleaned = re.sub(r"[\s\-]+", "_", (name or "").strip().lower())
    return ALIASES.get(cleaned, cleaned)


def read(kind: Kind, raw: bytes) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    if len(raw) > MAX_BYTES:
        raise FileProblem(_("The file is larger than 5 MB. Split it into smaller files."))
    text = clean_text(_decode(raw))  # no NUL or bidi overrides, as in forms
    if not text.strip():
        raise FileProblem(_("The file is empty."))
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        first = next(reader)
    except (StopIteration, csv.Error):
        raise FileProblem(_("The file has no header row.")) from None
    if len(first) > MAX_COLUMNS:
        raise FileProblem(
            _(
                "The first row has %(n)d columns; a roster file may have at most %(max)d. "
                "Keep only the columns the template names.",
                n=len(first),
                max=MAX_COLUMNS,
            )
        )
    header = [_header(h) for h in first]
    missing = [c for c in kind.required if c not in header]
    if missing:
        raise FileProblem(
            _(
                "Missing required columns: %(columns)s. The first row must name the columns "
                "(download the template to see them).",
                columns=", ".join(missing),
            )
        )
    known = set(kind.required) | set(kind.optional)
    unused = [h for h in header if h and h not in known]
    warnings = [
        _("Column “%(name)s” is not used and was ignored.", name=h) for h in unused[:MAX_WARNINGS]
    ]
    if len(unused) > MAX_WARNINGS:
        warnings.append(
            _("%(n)d more columns are not used and were ignored.", n=len(unused) - MAX_WARNINGS)
        )
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise FileProblem(_("More than %(n)d rows: split the file.", n=MAX_ROWS))
            values = {
                h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)
            }
            rows.append((number, {k: values.get(k, "") for k in known}))
    except csv.Error as error:
        raise FileProblem(_("The file is not valid CSV: %(error)s", error=str(error))) from None
    return rows, warnings


# --- planning --------------------------------------------------------------------------------


def _date(value: str, row: RowPlan, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        _error(row, _("%(column)s is not a date like 2026-07-01", column=name))
        return None


def _error(row: RowPlan, message: str) -> None:
    """Mark the row as an error; every problem of a row is reported, not only the first."""
    if row.status != "error":
        row.status, row.reason = "error", message
    elif message not in row.reason.split("; "):
        row.reason = f"{row.reason}; {message}"


def _users_by_email(emails) -> dict[str, User]:
    emails = {e for e in emails if e}
    if not emails:
        return {}
    found = db.session.scalars(select(User).where(User.email.in_(emails)))
    return {u.email: u for u in found if u.email}


def _dedupe(plan: Plan, key_of) -> dict:
    """Identical rows are unchanged duplicates; the same key with other values is an error."""
    seen: dict = {}
    for row in plan.rows:
        if row.status == "error":
            continue
        key = key_of(row)
        if key in seen:
            first = seen[key]
            if first.values == row.values:
                row.status, row.reason = "unchanged", _("same as row %(n)d", n=first.number)
            else:
                message = _(
                    "rows %(a)d and %(b)d disagree about the same entry",
                    a=first.number,
                    b=row.number,
                )
                _error(row, message)
                _error(first, message)
        else:
            seen[key] = row
    return seen


def plan(kind_name: str, raw: bytes, cohort: Cohort, actor: User) -> Plan:
    """Read the file and try every row through the services the forms use, in a savepoint
    that is rolled back: the preview shows exactly the errors the confirm would meet."""
    kind = KINDS[kind_name]
    rows, warnings = read(kind, raw)
    result = Plan(kind, [RowPlan(number, values) for number, values in rows], warnings)
    for row in result.rows:
        _check_lengths(row)
    {
        "students": _plan_people,
        "preceptors": _plan_people,
        "patients": _plan_patients,
        "assignments": _plan_assignments,
        "panels": _plan_panels,
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


# The longest value each column's table takes: longer is an error row, never a database error.
MAX_LENGTHS = {
    "email": 254,
    "student_email": 254,
    "preceptor_email": 254,
    "name": 200,
    "external_id": 100,
    "patient_external_id": 100,
}


def _check_lengths(row: RowPlan) -> None:
    for column, limit in MAX_LENGTHS.items():
        if len(row.values.get(column, "")) > limit:
            _error(
                row,
                _("%(column)s is longer than %(n)d characters", column=column, n=limit),
            )


def _plan_people(plan: Plan, cohort: Cohort) -> None:
    role = Role.STUDENT if plan.kind.name == "students" else Role.PRECEPTOR
    for row in plan.rows:
        row.values["email"] = row.values["email"].lower()
        if not EMAIL.match(row.values["email"]):
            _error(row, _("“%(value)s” is not an e-mail address", value=row.values["email"]))
        if not row.values["name"]:
            _error(row, _("the name is empty"))
    _dedupe(plan, lambda r: r.values["email"])
    existing = _users_by_email(r.values["email"] for r in plan.rows)
    enrolled = set(
        db.session.scalars(select(Enrollment.student_id).where(Enrollment.cohort_id == cohort.id))
    )
    # Checked for the whole file at once: new accounts are not tried one by one (a file of
    # 5,000 new students previews in seconds), and this is all that could refuse them.
    ids_taken = {
        u.external_id: u.email
        for u in db.session.scalars(
            select(User).where(
                User.external_id.in_(
                    [r.values["external_id"] for r in plan.rows if r.values["external_id"]] or [""]
                )
            )
        )
    }
    for row in plan.rows:
        if row.status != "new":
            continue
        external = row.values["external_id"]
        if external and ids_taken.get(external, row.values["email"]) != row.values["email"]:
            _error(row, _("external id %(id)s already belongs to someone else", id=external))
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


def _plan_patients(plan: Plan, cohort: Cohort) -> None:
    for row in plan.rows:
        values = row.values
        values["language"] = (values["language"] or "en").lower()
        values["email"] = values["email"].lower()
        if not values["external_id"]:
            _error(row, _("external_id is empty"))
        if not values["name"]:
            _error(row, _("the name is empty"))
        if values["language"] not in ("en", "es"):
            _error(row, _("language must be en or es"))
        if values["email"] and not EMAIL.match(values["email"]):
            _error(row, _("“%(value)s” is not an e-mail address", value=values["email"]))
    _dedupe(plan, lambda r: r.values["external_id"])
    existing = {
        u.external_id: u
        for u in db.session.scalars(
            select(User).where(
                User.external_id.in_([r.values["external_id"] for r in plan.rows] or [""])
            )
        )
    }
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


def _plan_assignments(plan: Plan, cohort: Cohort) -> None:
    people_by_email = _users_by_email(
        [r.values["student_email"].lower() for r in plan.rows]
        + [r.values["preceptor_email"].lower() for r in plan.rows]
    )
    for row in plan.rows:
        values = row.values
        values["student_email"] = values["student_email"].lower()
        values["preceptor_email"] = values["preceptor_email"].lower()
        start = _date(values["start_date"], row, "start_date")
        end = _date(values["end_date"], row, "end_date")
        student, preceptor = (
            people_by_email.get(values["student_email"]),
            people_by_email.get(values["preceptor_email"]),
        )
        if start is None and not values["start_date"]:
            _error(row, _("start_date is empty"))
        elif start and end and end < start:
            _error(row, _("the assignment ends before it starts"))
        if student is None or student.role is not Role.STUDENT:
            _error(
                row,
                _(
                    "no student with e-mail %(email)s (import students first)",
                    email=values["student_email"],
                ),
            )
        if preceptor is None or preceptor.role is not Role.PRECEPTOR:
            _error(
                row,
                _(
                    "no preceptor with e-mail %(email)s (import preceptors first)",
                    email=values["preceptor_email"],
                ),
            )
        if values["discipline"] not in DISCIPLINES:
            _error(row, _("unknown discipline; use one of: %(list)s", list=", ".join(DISCIPLINES)))
    # One preceptor per student and discipline in a file: twice is a mistake to fix.
    _dedupe(
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
            end_date=_date(values["end_date"], row, "end_date"),
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
            _error(row, people.other_program_message(student))
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


def _plan_panels(plan: Plan, cohort: Cohort) -> None:
    students = _users_by_email(r.values["student_email"].lower() for r in plan.rows)
    patients = {
        u.external_id: u
        for u in db.session.scalars(
            select(User).where(
                User.external_id.in_([r.values["patient_external_id"] for r in plan.rows] or [""])
            )
        )
    }
    for row in plan.rows:
        values = row.values
        values["student_email"] = values["student_email"].lower()
        consent = _date(values["consent_date"], row, "consent_date")
        end = _date(values["end_date"], row, "end_date")
        if row.status == "error":
            continue
        student, patient = (
            students.get(values["student_email"]),
            patients.get(values["patient_external_id"]),
        )
        if student is None or student.role is not Role.STUDENT:
            _error(row, _("no student with e-mail %(email)s", email=values["student_email"]))
        elif patient is None or patient.role is not Role.PATIENT:
            _error(
                row,
                _(
                    "no patient with id %(id)s (import patients first)",
                    id=values["patient_external_id"],
                ),
            )
        elif end and consent and end < consent:
            _error(row, _("the panel entry ends before consent"))
        elif consent and consent > clock.today():
            _error(row, _("consent cannot be in the future"))
    _dedupe(plan, lambda r: (r.values["student_email"], r.values["patient_external_id"]))
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


# --- confirming ------------------------------------------------------------------------------


def apply(actor: User, plan: Plan, cohort: Cohort) -> dict[str, int]:
    """Write every planned row through the services; the caller commits once (all or none)."""
    if plan.has_errors:
        first = next(row for row in plan.rows if row.status == "error")
        raise FileProblem(
            _(
                "Row %(n)d: %(reason)s Fix the rows marked as errors and upload the file again.",
                n=first.number,
                reason=first.reason,
            )
        )
    invited: list[User] = []
    for row in plan.rows:
        if row.apply is not None:
            try:
                row.apply(actor, invited)
            except ROW_ERRORS as error:  # the data changed since the preview
                raise FileProblem(
                    _("Row %(n)d: %(reason)s", n=row.number, reason=str(error))
                ) from None
    db.session.flush()
    for user in invited:
        _invite(user)
    counts = plan.counts
    audit.record(
        actor,
        "roster.imported",
        cohort,
        after={"kind": plan.kind.name, **counts, "invited": len(invited)},
    )
    return counts


def _invite(user: User) -> None:
    from clerkship.auth import links

    mail.send(
        user.email,
        "account_created",
        name=user.name,
        days=current_app.config["PASSWORD_LINK_DAYS"],
        link=links.link_for(user),
    )
