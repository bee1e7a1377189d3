"""Programs and cohorts created and edited in the browser's forms."""

from __future__ import annotations

from sqlalchemy import select

from clerkship.models import AuditEvent, Cohort, Program
from tests.conftest import login


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_admin_creates_a_program_with_its_director(client, db, world):
    login(client, world["admin"])
    response = client.post(
        "/programs/new",
        data={
            "name": "Hillside LIC",
            "slug": "hillside-lic",
            "institution": "Hillside",
            "director_emails": world["mine"]["director"].email,
        },
    )
    assert response.status_code == 302
    program = db.session.scalar(select(Program).where(Program.slug == "hillside-lic"))
    assert [d.id for d in program.directors] == [world["mine"]["director"].id]
    bad = client.post("/programs/new", data={"name": "X", "slug": "Bad Slug!"})
    assert bad.status_code == 400 and "Lower-case letters" in _html(bad)
    taken = client.post("/programs/new", data={"name": "Y", "slug": "hillside-lic"})
    assert "That short name is taken." in _html(taken)
    not_director = client.post(
        "/programs/new",
        data={"name": "Z", "slug": "zed", "director_emails": world["mine"]["student"].email},
    )
    assert "is not a program director account" in _html(not_director)


def test_director_adds_and_edits_cohorts_of_their_program_only(client, db, world):
    mine, other = world["mine"], world["other"]
    login(client, mine["director"])
    response = client.post(
        f"/programs/{mine['program'].id}/cohorts/new",
        data={"name": "2027–28", "start_date": "2027-07-01", "end_date": "2028-06-30"},
    )
    assert response.status_code == 302
    cohort = db.session.scalar(select(Cohort).where(Cohort.name == "2027–28"))
    backwards = client.post(
        f"/cohorts/{cohort.id}/edit",
        data={"name": "2027–28", "start_date": "2027-07-01", "end_date": "2027-01-01"},
    )
    assert backwards.status_code == 400 and "must end after it starts" in _html(backwards)
    assert 'value="2027-01-01"' in _html(backwards)  # what was typed comes back
    duplicate = client.post(
        f"/programs/{mine['program'].id}/cohorts/new",
        data={"name": "2027–28", "start_date": "2027-07-01", "end_date": "2028-06-30"},
    )
    assert "already has a cohort with that name" in _html(duplicate)
    assert client.get(f"/programs/{other['program'].id}/cohorts/new").status_code == 404
    assert client.get(f"/programs/{other['program'].id}/edit").status_code == 404
    assert client.get("/programs/new").status_code == 404  # admins create programs
    renamed = client.post(
        f"/programs/{mine['program'].id}/edit", data={"name": "Renamed LIC", "institution": "X"}
    )
    assert renamed.status_code == 302
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "program.edited"))
