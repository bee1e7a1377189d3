"""A student's page shows each role only what it needs: the admin sees no panel patients'
names, the patient account no preceptor list; the people who need them still see them."""

from __future__ import annotations

import pytest

from tests.conftest import login


def _page(client, world, viewer, side: str = "mine") -> str:
    login(client, viewer)
    response = client.get(f"/students/{world[side]['student'].id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("side", ["mine", "other"])
def test_the_admin_sees_no_panel_patients(client, db, world, side):
    html = _page(client, world, world["admin"], side)
    assert world[side]["patient"].name not in html
    assert "Continuity patients" not in html
    assert world[side]["preceptor"].name in html  # people are the admin's business


def test_the_patient_account_sees_no_preceptor_list(client, db, world):
    mine = world["mine"]
    html = _page(client, world, mine["patient"])
    assert mine["preceptor"].name not in html
    assert "Preceptors" not in html
    assert mine["student"].name in html


@pytest.mark.parametrize("role", ["student", "preceptor", "director"])
def test_the_people_who_need_them_see_preceptors_and_patients(client, db, world, role):
    mine = world["mine"]
    html = _page(client, world, mine[role])
    assert mine["preceptor"].name in html
    assert mine["patient"].name in html


def test_directors_find_students_of_their_programs_only(client, db, world):
    """By name or e-mail, any case; a second program's students are never found."""
    mine, other = world["mine"], world["other"]
    login(client, mine["director"])
    own, theirs = mine["student"], other["student"]
    part = own.name.split()[0].upper()
    html = client.get(f"/students?q={part}").get_data(as_text=True)
    assert f'href="/students/{own.id}"' in html
    by_mail = client.get(f"/students?q={own.email.split('@')[0]}").get_data(as_text=True)
    assert f'href="/students/{own.id}"' in by_mail
    # The other program's student, searched by their exact e-mail: not there.
    html = client.get(f"/students?q={theirs.email}").get_data(as_text=True)
    assert f'href="/students/{theirs.id}"' not in html and "0 students found" in html
    # Wildcards are text, not patterns; a too-long query is refused on the form, not a 500.
    assert "0 students found" in client.get("/students?q=%25").get_data(as_text=True)
    long = client.get("/students?q=" + "x" * 300)
    assert long.status_code == 200 and "aria-invalid" in long.get_data(as_text=True)
    # Only directors search (a preceptor or an admin gets 404).
    for outsider in (mine["preceptor"], world["admin"]):
        client.post("/sign-out")
        login(client, outsider)
        assert client.get("/students?q=a").status_code == 404
