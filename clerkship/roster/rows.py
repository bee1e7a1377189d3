"""What planning a roster file makes of each row, and the checks every kind of row shares."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from clerkship.extensions import db
from clerkship.models import User
from clerkship.roster.reading import Kind

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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


def parse_date(value: str, row: RowPlan, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        error(row, _("%(column)s is not a date like 2026-07-01", column=name))
        return None


def error(row: RowPlan, message: str) -> None:
    """Mark the row as an error; every problem of a row is reported, not only the first."""
    if row.status != "error":
        row.status, row.reason = "error", message
    elif message not in row.reason.split("; "):
        row.reason = f"{row.reason}; {message}"


def users_by_email(emails) -> dict[str, User]:
    emails = {e for e in emails if e}
    if not emails:
        return {}
    found = db.session.scalars(select(User).where(User.email.in_(emails)))
    return {u.email: u for u in found if u.email}


def users_by_external_id(ids) -> dict[str, User]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    found = db.session.scalars(select(User).where(User.external_id.in_(ids)))
    return {u.external_id: u for u in found if u.external_id}


def dedupe(plan: Plan, key_of) -> dict:
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
                error(row, message)
                error(first, message)
        else:
            seen[key] = row
    return seen


# The longest value each column's table takes: longer is an error row, never a database error.
MAX_LENGTHS = {
    "email": 254,
    "student_email": 254,
    "preceptor_email": 254,
    "name": 200,
    "external_id": 100,
    "patient_external_id": 100,
}


def check_lengths(row: RowPlan) -> None:
    for column, limit in MAX_LENGTHS.items():
        if len(row.values.get(column, "")) > limit:
            error(
                row,
                _("%(column)s is longer than %(n)d characters", column=column, n=limit),
            )
