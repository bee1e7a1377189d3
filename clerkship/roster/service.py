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


@dataclass
class RowPlan:
    number: int  # the line in the spreadsheet (header is line 1)
    values: dict[str, str]
    status: str = "new"  # new | update | unchanged | error
    reason: str = ""
    # Writes this row: apply(actor, invited); None for unchanged or error rows.
    apply: Callable[[User, list[User]], None] | None = None


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
    if b"\x00" in raw[:4096]:
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
        row.status, row.reason = (
            "error",
            _("%(column)s is not a date like 2026-07-01", column=name),
        )
        return None


def _error(row: RowPlan, message: str) -> None:
    if row.status != "error":
        row.status, row.reason = "error", message


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


def plan(kind_name: str, raw: bytes, cohort: Cohort) -> Plan:
    kind = KINDS[kind_name]
    rows, warnings = read(kind, raw)
    result = Plan(kind, [RowPlan(number, values) for number, values in rows], warnings)
    {
        "students": _plan_people,
        "preceptors": _plan_people,
        "patients": _plan_patients,
        "assignments": _plan_assignments,
        "panels": _plan_panels,
    }[kind_name](result, cohort)
    return result


def _plan_people(plan: Plan, cohort: Cohort) -> None:
    role = Role.STUDENT if plan.kind.name == "students" else Role.PRECEPTOR
    for row in plan.rows:
        row.values["email"] = row.values["email"].lower()
        if not EMAIL.match(row.values["email"]):
            _error(row, _("“%(value)s” is not an e-mail address", value=row.values["email"]))
        elif not row.values["name"]:
            _error(row, _("the name is empty"))
        elif len(row.values["name"]) > 200:
            _error(row, _("the name is longer than 200 characters"))
    _dedupe(plan, lambda r: r.values["email"])
    existing = _users_by_email(r.values["email"] for r in plan.rows)
    enrolled = set(
        db.session.scalars(select(Enrollment.student_id).where(Enrollment.cohort_id == cohort.id))
    )
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
        email, name, external = (
            row.values["email"],
            row.values["name"],
            row.values["external_id"] or None,
        )
        if external and ids_taken.get(external, email) != email:
            _error(row, _("external id %(id)s already belongs to someone else", id=external))
            continue
        user = existing.get(email)
        if user is not None and user.role is not role:
            _error(
                row,
                _(
                    "%(email)s already has an account as %(role)s",
                    email=email,
                    role=user.role.label,
                ),
            )
            continue
        changes = []
        if user is not None:
            if user.name != name:
                changes.append(_("name"))
            if external and user.external_id != external:
                changes.append(_("external id"))
        needs_enrolment = role is Role.STUDENT and (user is None or user.id not in enrolled)
        if user is not None and needs_enrolment:
            changes.append(_("enrol in %(cohort)s", cohort=cohort.name))
        if user is not None and not changes:
            row.status = "unchanged"
            continue
        if user is not None:
            row.status, row.reason = "update", ", ".join(changes)
        row.apply = _person_writer(role, email, name, external, cohort, needs_enrolment)


def _person_writer(role, email, name, external, cohort, enrol):
    def write(actor: User, invited: list[User]) -> None:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(role=role, email=email, name=name, external_id=external)
            db.session.add(user)
            invited.append(user)
        else:
            user.name = name
            if external:
                user.external_id = external
        db.session.flush()
        if enrol:
            db.session.add(Enrollment(cohort_id=cohort.id, student_id=user.id))

    return write


def _plan_patients(plan: Plan, cohort: Cohort) -> None:
    for row in plan.rows:
        values = row.values
        values["language"] = (values["language"] or "en").lower()
        values["email"] = values["email"].lower()
        if not values["external_id"]:
            _error(row, _("external_id is empty"))
        elif not values["name"]:
            _error(row, _("the name is empty"))
        elif values["language"] not in ("en", "es"):
            _error(row, _("language must be en or es"))
        elif values["email"] and not EMAIL.match(values["email"]):
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
        if user is not None and user.role is not Role.PATIENT:
            _error(
                row,
                _(
                    "external id %(id)s belongs to someone who is not a patient",
                    id=values["external_id"],
                ),
            )
            continue
        if user is not None:
            same = (user.name, user.preferred_language, user.email or "") == (
                values["name"],
                values["language"],
                values["email"],
            )
            if same:
                row.status = "unchanged"
                continue
            row.status, row.reason = "update", _("name, language or e-mail")
        row.apply = _patient_writer(dict(values))


def _patient_writer(values):
    def write(actor: User, invited: list[User]) -> None:
        user = db.session.scalar(select(User).where(User.external_id == values["external_id"]))
        if user is None:
            user = User(role=Role.PATIENT, external_id=values["external_id"])
            db.session.add(user)
        user.name = values["name"]
        user.preferred_language = values["language"]
        user.email = values["email"] or None
        db.session.flush()

    return write


def _plan_assignments(plan: Plan, cohort: Cohort) -> None:
    people = _users_by_email(
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
            people.get(values["student_email"]),
            people.get(values["preceptor_email"]),
        )
        if row.status == "error":
            continue
        if start is None:
            _error(row, _("start_date is empty"))
        elif end and end < start:
            _error(row, _("the assignment ends before it starts"))
        elif student is None or student.role is not Role.STUDENT:
            _error(
                row,
                _(
                    "no student with e-mail %(email)s (import students first)",
                    email=values["student_email"],
                ),
            )
        elif preceptor is None or preceptor.role is not Role.PRECEPTOR:
            _error(
                row,
                _(
                    "no preceptor with e-mail %(email)s (import preceptors first)",
                    email=values["preceptor_email"],
                ),
            )
        elif values["discipline"] not in DISCIPLINES:
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
        student, preceptor = people[values["student_email"]], people[values["preceptor_email"]]
        start, end = (
            date.fromisoformat(values["start_date"]),
            _date(values["end_date"], row, "end_date"),
        )
        current = db.session.scalar(
            select(Assignment).where(
                Assignment.student_id == student.id,
                Assignment.preceptor_id == preceptor.id,
                Assignment.discipline == values["discipline"],
                Assignment.start_date == start,
            )
        )
        if current is not None and current.end_date == end:
            row.status = "unchanged"
            continue
        if current is not None:
            row.status, row.reason = "update", _("end date")
        row.apply = _assignment_writer(
            cohort, student.id, preceptor.id, values["discipline"], start, end
        )


def _assignment_writer(cohort, student_id, preceptor_id, discipline, start, end):
    def write(actor: User, invited: list[User]) -> None:
        current = db.session.scalar(
            select(Assignment).where(
                Assignment.student_id == student_id,
                Assignment.preceptor_id == preceptor_id,
                Assignment.discipline == discipline,
                Assignment.start_date == start,
            )
        )
        if current is None:
            db.session.add(
                Assignment(
                    cohort_id=cohort.id,
                    student_id=student_id,
                    preceptor_id=preceptor_id,
                    discipline=discipline,
                    start_date=start,
                    end_date=end,
                )
            )
        else:
            current.end_date = end

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
        row.apply = _panel_writer(cohort, student.id, patient.id, consent, end)


def _panel_writer(cohort, student_id, patient_id, consent, end):
    def write(actor: User, invited: list[User]) -> None:
        current = db.session.scalar(
            select(PanelEntry).where(
                PanelEntry.student_id == student_id,
                PanelEntry.patient_id == patient_id,
                PanelEntry.cohort_id == cohort.id,
            )
        )
        if current is None:
            current = PanelEntry(cohort_id=cohort.id, student_id=student_id, patient_id=patient_id)
            db.session.add(current)
        current.consent_date, current.end_date = consent, end

    return write


# --- confirming ------------------------------------------------------------------------------


def apply(actor: User, plan: Plan, cohort: Cohort) -> dict[str, int]:
    """Write every planned row; the caller commits once (all or nothing)."""
    if plan.has_errors:
        raise FileProblem(_("Fix the rows marked as errors and upload the file again."))
    invited: list[User] = []
    for row in plan.rows:
        if row.apply is not None:
            row.apply(actor, invited)
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
