"""The program and cohort forms render through the shared macro: an error sits beside its
field, and the field says so to a screen reader (aria-invalid, aria-describedby)."""

from __future__ import annotations

import re

from tests.conftest import login


def _field(html: str, name: str) -> str:
    match = re.search(rf'<(?:input|select)[^>]*\bname="{name}"[^>]*>', html)
    assert match, f"no field {name}"
    return match.group(0)


def test_a_refused_cohort_marks_its_field_and_keeps_what_was_typed(client, db, world):
    program = world["mine"]["program"]
    login(client, world["mine"]["director"])
    response = client.post(
        f"/programs/{program.id}/cohorts/new",
        data={"name": "2027–28", "start_date": "2028-07-01", "end_date": "2027-07-01"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    end = _field(html, "end_date")
    assert 'aria-invalid="true"' in end and 'aria-describedby="end_date-error"' in end
    assert '<p class="error" id="end_date-error">The year must end after it starts.</p>' in html
    assert 'value="2027–28"' in _field(html, "name")


def test_a_date_that_is_no_date_is_an_error_beside_it_not_a_silent_blank(client, db, world):
    program = world["mine"]["program"]
    login(client, world["mine"]["director"])
    response = client.post(
        f"/programs/{program.id}/cohorts/new",
        data={"name": "2027–28", "start_date": "1 July", "end_date": "2028-06-30"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in _field(html, "start_date")
    assert 'value="1 July"' in _field(html, "start_date")


def test_a_refused_program_marks_its_field(client, db, world):
    login(client, world["admin"])
    response = client.post("/programs/new", data={"name": "Hillside", "slug": "Bad Slug!"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    slug = _field(html, "slug")
    assert 'aria-invalid="true"' in slug
    assert "slug-hint slug-error" in slug
    assert 'value="Bad Slug!"' in slug


def test_a_refused_pairing_marks_its_field_and_keeps_the_dates(client, db, world):
    student = world["mine"]["student"]
    login(client, world["mine"]["director"])
    response = client.post(
        f"/students/{student.id}/pairings",
        data={"preceptor": "", "discipline": "Psychiatry", "start_date": "2026-09-01"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in _field(html, "preceptor")
    assert '<p class="error" id="preceptor-error">Choose a preceptor.</p>' in html
    assert 'value="2026-09-01"' in _field(html, "start_date")
    assert '<option selected value="Psychiatry">' in html or 'value="Psychiatry" selected' in html
