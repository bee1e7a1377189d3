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
