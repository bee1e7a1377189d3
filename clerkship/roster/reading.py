"""Reading a roster CSV as real spreadsheets save it: UTF-8 with or without BOM, Excel's
Windows encoding, comma, semicolon or tab, headers in any order and case, trailing spaces,
unknown columns (ignored with a warning). The kinds of file and their columns live here too.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from clerkship.csvfile import to_csv
from clerkship.domain import DomainError
from clerkship.forminput import clean_text

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 1_000  # a roster needs a handful; 500,000 made a 35 MB preview
MAX_WARNINGS = 10  # about unused columns; the rest are counted in one line
NOT_CSV = _l(
    "This is not a CSV file (it looks like a spreadsheet or a binary file). Save it as CSV first."
)


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


def template_csv(kind: Kind) -> str:
    return to_csv([[*kind.required, *kind.optional], *kind.example])


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
