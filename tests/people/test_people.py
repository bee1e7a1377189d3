"""Pairings grant and end access; deactivation ends sessions at once; reset by link only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from clerkship import clock
from clerkship.models import Assignment, Role
from clerkship.permissions import can_supervise_student, can_view_student
from tests.conftest import login


def test_pairing_grants_access_and_ending_it_takes_it_away(client, db, world, make_user):
    mine = world["mine"]
    newcomer = make_user(Role.PRECEPTOR, name="Dr. New")
    db.session.commit()
    assert not can_view_student(newcomer, mine["student"])
    login(client, mine["director"])
    response = client.post(
        f"/students/{mine['student'].id}/pairings",
        data={
            "preceptor": newcomer.id,
            "discipline": "Psychiatry",
            "start_date": (clock.today() - timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 302
    assert can_supervise_student(newcomer, mine["student"])
    clash = client.post(
        f"/students/{mine['student'].id}/pairings",
        data={
            "preceptor": newcomer.id,
            "discipline": "Psychiatry",
            "start_date": clock.today().isoformat(),
        },
    )
    assert clash.status_code == 400 and "end that pairing first" in clash.get_data(as_text=True)
    backwards = client.post(
        f"/students/{mine['student'].id}/pairings",
        data={
            "preceptor": newcomer.id,
            "discipline": "Surgery",
            "start_date": "2026-09-01",
            "end_date": "2026-08-01",
        },
    )
    assert backwards.status_code == 400
    assignment = db.session.scalar(
        select(Assignment).where(Assignment.preceptor_id == newcomer.id)
    )
    assert client.post(f"/assignments/{assignment.id}/end").status_code == 302
    db.session.expire_all()
    assert not can_supervise_student(newcomer, mine["student"])
    assert can_view_student(newcomer, mine["student"])  # read-only history stays


def test_deactivation_ends_sessions_at_once(app, db, world):
    mine = world["mine"]
    student_browser, director_browser = app.test_client(), app.test_client()
    login(student_browser, mine["student"])
    assert student_browser.get("/").status_code == 200
    login(director_browser, mine["director"])
    deactivate = f"/people/{mine['student'].id}/deactivate"
    assert director_browser.post(deactivate, data={"confirmed": "yes"}).status_code == 302
    response = student_browser.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    refused = student_browser.post(
        "/sign-in",
        data={"email": mine["student"].email, "password": "correct horse battery staple"},
    )
    assert refused.status_code == 400
    assert director_browser.post(f"/people/{mine['student'].id}/reactivate").status_code == 302
    login(student_browser, mine["student"])


def test_password_reset_is_a_link_never_a_password(client, db, world):
    from clerkship.mail import outbox

    mine = world["mine"]
    login(client, mine["director"])
    assert client.post(f"/people/{mine['student'].id}/reset-password").status_code == 302
    message = [m for m in outbox(client.application) if m["To"] == mine["student"].email][-1]
    assert "/account/set-password/" in message.get_content()


def test_other_programs_people_are_out_of_reach(client, db, world):
    other = world["other"]
    login(client, world["mine"]["director"])
    deactivate = f"/people/{other['student'].id}/deactivate"
    assert client.post(deactivate, data={"confirmed": "yes"}).status_code == 404
    assert client.get(f"/students/{other['student'].id}/pairings").status_code == 404
    assignment = db.session.scalar(
        select(Assignment).where(Assignment.student_id == other["student"].id)
    )
    assert client.post(f"/assignments/{assignment.id}/end").status_code == 404
    assert other["student"].active


def test_deactivate_asks_first_and_looks_destructive(client, db, world):
    mine = world["mine"]
    student = mine["student"]
    login(client, mine["director"])
    page = client.get(f"/students/{student.id}").get_data(as_text=True)
    # A link to a confirm page, not a one-click form; styled apart from its neighbours.
    assert f'class="button danger separate" href="/people/{student.id}/deactivate"' in page
    asked = client.post(f"/people/{student.id}/deactivate")  # no confirmation: only asked
    assert asked.status_code == 200 and "Deactivate " + student.name + "?" in asked.get_data(
        as_text=True
    )
    db.session.refresh(student)
    assert student.active
    html = client.get(f"/people/{student.id}/deactivate").get_data(as_text=True)
    assert 'name="confirmed" value="yes"' in html and "button danger solid" in html
    assert "Keep the account" in html
    done = client.post(f"/people/{student.id}/deactivate", data={"confirmed": "yes"})
    assert done.status_code == 302
    db.session.refresh(student)
    assert not student.active
