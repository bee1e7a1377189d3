"""The admin's account pages: find, create, correct, deactivate (issue 16). Every write goes
through clerkship.people, so it leaves the same audit rows as the roster import."""

from __future__ import annotations

from sqlalchemy import select

from clerkship.mail import outbox
from clerkship.models import AuditEvent, Role, User
from tests.conftest import TEST_PASSWORD, login


def _audit(db, action: str, user_id: int) -> list[AuditEvent]:
    return db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == action,
            AuditEvent.object_type == "user",
            AuditEvent.object_id == user_id,
        )
    ).all()


def test_admin_finds_people_by_name_email_role_and_status(client, db, world, make_user):
    make_user(Role.PRECEPTOR, name="Dr Wilhelmina Okafor", email="w.okafor@hospital.org")
    make_user(Role.STUDENT, name="Tomás Wilhelm", active=False)
    db.session.commit()
    login(client, world["admin"])

    page = client.get("/admin/people/?q=wilhelm").get_data(as_text=True)
    assert "Dr Wilhelmina Okafor" in page and "Tomás Wilhelm" in page
    assert world["mine"]["student"].name not in page

    by_email = client.get("/admin/people/?q=OKAFOR@HOSP").get_data(as_text=True)
    assert "Dr Wilhelmina Okafor" in by_email and "Tomás Wilhelm" not in by_email

    inactive = client.get("/admin/people/?q=wilhelm&status=inactive").get_data(as_text=True)
    assert "Tomás Wilhelm" in inactive and "Okafor" not in inactive

    directors = client.get("/admin/people/?role=director").get_data(as_text=True)
    assert (
        world["mine"]["director"].name in directors
        and world["other"]["director"].name in directors
    )
    assert world["mine"]["student"].name not in directors

    nobody = client.get("/admin/people/?q=zzzz-nobody")
    assert "Nobody matches" in nobody.get_data(as_text=True)


def test_patients_stay_unnamed_to_the_admin_and_unsearchable(client, db, world):
    patient = world["mine"]["patient"]
    login(client, world["admin"])
    everyone = client.get("/admin/people/?role=patient").get_data(as_text=True)
    assert patient.name not in everyone and patient.email not in everyone
    assert "A patient" in everyone
    # A search by the patient's name must not reveal that they are a patient here.
    found = client.get(f"/admin/people/?q={patient.name}").get_data(as_text=True)
    assert "A patient" not in found
    assert client.get(f"/admin/people/{patient.id}").status_code == 404


def test_bad_filters_and_pages_never_fail(client, db, world):
    login(client, world["admin"])
    for query in ("?page=abc", "?page=-3", "?page=99999", "?role=wizard", "?status=x", "?q=%25_"):
        assert client.get(f"/admin/people/{query}").status_code == 200, query


def test_the_list_is_paginated(client, db, world, make_user):
    for n in range(30):
        make_user(Role.PRECEPTOR, name=f"Paged Preceptor {n:02d}")
    db.session.commit()
    login(client, world["admin"])
    first = client.get("/admin/people/?q=paged").get_data(as_text=True)
    second = client.get("/admin/people/?q=paged&page=2").get_data(as_text=True)
    assert "Paged Preceptor 00" in first and "Paged Preceptor 29" not in first
    assert "Paged Preceptor 29" in second and 'rel="prev"' in second
    assert "q=paged" in second  # the filters survive the page links


def test_admin_creates_an_account_and_it_gets_a_set_password_link(client, db, world):
    login(client, world["admin"])
    response = client.post(
        "/admin/people/new",
        data={
            "name": "  Ana   Ruiz ",
            "email": "Ana.Ruiz@Example.org",
            "role": "preceptor",
            "send_link": "y",
        },
    )
    assert response.status_code == 302
    person = db.session.scalar(select(User).where(User.email == "ana.ruiz@example.org"))
    assert person.name == "Ana Ruiz" and person.role is Role.PRECEPTOR
    assert person.password_hash is None  # never a password chosen for them
    assert [e.actor_id for e in _audit(db, "user.created", person.id)] == [world["admin"].id]
    message = [m for m in outbox(client.application) if m["To"] == person.email][-1]
    assert "/account/set-password/" in message.get_content()


def test_a_refused_account_keeps_what_was_typed(client, db, world):
    login(client, world["admin"])
    taken = world["mine"]["student"].email
    response = client.post(
        "/admin/people/new", data={"name": "Bea Nueva", "email": taken, "role": "student"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "already has an account" in page and 'value="Bea Nueva"' in page
    assert 'aria-invalid="true"' in page
    for bad in (
        {"name": "", "email": "x@example.org", "role": "student"},
        {"name": "X", "email": "not-an-email", "role": "student"},
        {"name": "X", "email": "y@example.org", "role": "patient"},  # patients come via panels
        {"name": "X", "email": "y@example.org", "role": ""},
    ):
        assert client.post("/admin/people/new", data=bad).status_code == 400, bad
    assert db.session.scalar(select(User).where(User.email == "y@example.org")) is None


def test_admin_corrects_an_account_and_the_audit_says_what_changed(client, db, world):
    preceptor = world["other"]["preceptor"]
    login(client, world["admin"])
    response = client.post(
        f"/admin/people/{preceptor.id}",
        data={"name": "Dr Renamed", "email": preceptor.email, "role": "preceptor"},
    )
    assert response.status_code == 302
    db.session.refresh(preceptor)
    assert preceptor.name == "Dr Renamed"
    (event,) = _audit(db, "user.updated", preceptor.id)
    assert event.after == {"name": "Dr Renamed"} and "email" not in event.before


def test_role_changes_only_for_accounts_without_program_records(client, db, world, make_user):
    login(client, world["admin"])
    student = world["mine"]["student"]  # enrolled: has records as a student
    refused = client.post(
        f"/admin/people/{student.id}",
        data={"name": student.name, "email": student.email, "role": "preceptor"},
    )
    assert refused.status_code == 400 and "role stays" in refused.get_data(as_text=True)
    db.session.refresh(student)
    assert student.role is Role.STUDENT

    newcomer = make_user(Role.STUDENT, name="Wrong Role")
    db.session.commit()
    token = newcomer.session_token
    assert (
        client.post(
            f"/admin/people/{newcomer.id}",
            data={"name": newcomer.name, "email": newcomer.email, "role": "preceptor"},
        ).status_code
        == 302
    )
    db.session.refresh(newcomer)
    assert newcomer.role is Role.PRECEPTOR
    assert newcomer.session_token != token  # sessions under the old role end


def test_admin_deactivates_after_a_confirmation_and_sessions_end(app, db, world):
    student = world["other"]["student"]
    student_browser, admin_browser = app.test_client(), app.test_client()
    login(student_browser, student)
    login(admin_browser, world["admin"])
    edit = admin_browser.get(f"/admin/people/{student.id}").get_data(as_text=True)
    # The edit page links to a confirmation; it does not deactivate with one click.
    assert f'href="/people/{student.id}/deactivate"' in edit
    assert f'action="/people/{student.id}/deactivate"' not in edit
    # The director's confirmation page, leading back to the account pages.
    confirm = admin_browser.get(f"/people/{student.id}/deactivate").get_data(as_text=True)
    assert (
        "signed out at once" in confirm and f'action="/people/{student.id}/deactivate"' in confirm
    )
    assert 'name="confirmed" value="yes"' in confirm
    assert f'class="button" href="/admin/people/{student.id}">Keep the account' in confirm
    done = admin_browser.post(f"/people/{student.id}/deactivate", data={"confirmed": "yes"})
    assert done.headers["Location"] == f"/admin/people/{student.id}"
    assert student_browser.get("/").status_code == 302  # signed out, everywhere
    assert len(_audit(db, "user.deactivated", student.id)) == 1
    admin_browser.post(f"/people/{student.id}/reactivate")
    login(student_browser, student, TEST_PASSWORD)


def test_admin_cannot_deactivate_themself(client, db, world):
    admin = world["admin"]
    login(client, admin)
    assert "Deactivate" not in client.get(f"/admin/people/{admin.id}").get_data(as_text=True)
    client.post(f"/people/{admin.id}/deactivate", data={"confirmed": "yes"})
    db.session.refresh(admin)
    assert admin.active


def test_directors_have_no_account_list(client, db, world):
    login(client, world["mine"]["director"])
    assert client.get("/admin/people/").status_code == 404
    assert client.get(f"/admin/people/{world['mine']['student'].id}").status_code == 404


def test_the_admin_deactivates_a_patient_on_the_same_page_without_seeing_their_name(
    client, db, world
):
    """One confirmation page for directors and the admin; the admin keeps accounts, not
    panels, so a patient is "Patient #<account number>" there (not "Another patient", which
    is how one patient sees another), in the message after, and once deactivated the page
    offers to reactivate instead."""
    patient = world["other"]["patient"]
    patient.name = "Zelda Quillfeather"
    db.session.commit()
    login(client, world["admin"])
    listed = client.get("/admin/people/?role=patient").get_data(as_text=True)
    assert f'href="/people/{patient.id}/deactivate"' in listed
    page = client.get(f"/people/{patient.id}/deactivate").get_data(as_text=True)
    assert 'name="confirmed" value="yes"' in page and "Zelda" not in page
    assert f"<h1>Deactivate Patient #{patient.id}?</h1>" in page
    assert "Another patient" not in page
    assert 'class="button" href="/admin/people/">Keep the account' in page
    done = client.post(
        f"/people/{patient.id}/deactivate", data={"confirmed": "yes"}, follow_redirects=True
    )
    assert "is deactivated" in done.get_data(as_text=True)
    assert "Zelda" not in done.get_data(as_text=True)
    db.session.refresh(patient)
    assert not patient.active
    again = client.get(f"/people/{patient.id}/deactivate").get_data(as_text=True)
    assert "already deactivated" in again and 'name="confirmed"' not in again
    assert f'action="/people/{patient.id}/reactivate"' in again
    back = client.post(f"/people/{patient.id}/reactivate", follow_redirects=True)
    assert "can sign in again" in back.get_data(as_text=True)
    assert "Zelda" not in back.get_data(as_text=True)
    db.session.refresh(patient)
    assert patient.active
