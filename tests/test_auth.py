import re

import pytest
from sqlalchemy import select

from clerkship.extensions import db as _db
from clerkship.models import AuditEvent, User
from tests.conftest import TEST_PASSWORD, login


def audit_actions(db, **filters):
    query = select(AuditEvent).order_by(AuditEvent.id)
    for key, value in filters.items():
        query = query.where(getattr(AuditEvent, key) == value)
    return db.session.scalars(query).all()


def field_error(html: str, field: str) -> str | None:
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    return match.group(1) if match else None


def test_sign_in_lands_on_home_and_is_audited(client, db, student):
    response = client.post("/sign-in", data={"email": student.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert f"Hello, {student.name}" in home.get_data(as_text=True)

    events = audit_actions(db, action="auth.sign_in")
    assert [(e.actor_id, e.object_id) for e in events] == [(student.id, student.id)]
    db.session.expire_all()
    assert db.session.get(User, student.id).last_sign_in_at is not None


def test_email_is_matched_without_case_or_spaces(client, student):
    response = client.post(
        "/sign-in", data={"email": f"  {student.email.upper()} ", "password": TEST_PASSWORD}
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("email", "password", "reason"),
    [
        ("student-known", "wrong password here", "wrong_password"),
        ("nobody@example.org", TEST_PASSWORD, "unknown_email"),
    ],
)
def test_failed_sign_in_keeps_email_shows_error_and_is_audited(
    client, db, student, email, password, reason
):
    email = student.email if email == "student-known" else email
    response = client.post("/sign-in", data={"email": email, "password": password})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_error(html, "password") == (
        "That email and password do not match an active account."
    )
    assert f'value="{email}"' in html
    failures = audit_actions(db, action="auth.sign_in_failed")
    assert len(failures) == 1
    assert failures[0].actor_id is None
    assert failures[0].after == {"email": email, "reason": reason}
    assert client.get("/").status_code == 302  # still signed out


def test_deactivated_account_cannot_sign_in(client, db, student):
    student.active = False
    db.session.commit()
    response = client.post("/sign-in", data={"email": student.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert audit_actions(db, action="auth.sign_in_failed")[0].after["reason"] == "inactive"


def test_bad_email_comes_back_beside_the_field_with_what_was_typed(client):
    response = client.post("/sign-in", data={"email": "not an email <b>", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_error(html, "email") == "Invalid email address."
    assert field_error(html, "password") == "This field is required."
    assert 'value="not an email &lt;b&gt;"' in html  # kept, and escaped


def test_sign_in_starts_a_fresh_session(client, student):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, student)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == student.session_token


def test_sign_in_ignores_next_urls_to_other_sites(client, student):
    for target in (
        "//evil.example.org/",
        "https://evil.example.org/",
        "javascript:alert(1)",
        "/\\evil.example.org/",  # browsers read "/\\" as "//"
        "/%09/evil.example.org/",  # a tab, which browsers drop
    ):
        response = client.post(
            f"/sign-in?next={target}", data={"email": student.email, "password": TEST_PASSWORD}
        )
        assert response.headers["Location"] == "/"
        client.post("/sign-out")
    response = client.post(
        "/sign-in?next=/frameworks", data={"email": student.email, "password": TEST_PASSWORD}
    )
    assert response.headers["Location"] == "/frameworks"


def test_pages_need_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


def test_sign_out_ends_the_session_and_is_audited(client, db, preceptor):
    login(client, preceptor)
    assert client.get("/sign-out").status_code == 405  # never by a link or an image
    response = client.post("/sign-out")
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    assert [e.actor_id for e in audit_actions(db, action="auth.sign_out")] == [preceptor.id]


def test_sign_in_is_throttled_per_account(client, app, student):
    limit = int(app.config["SIGN_IN_ACCOUNT_RATE_LIMIT"].split()[0])
    for _ in range(limit):
        response = client.post("/sign-in", data={"email": student.email, "password": "nope-nope"})
        assert response.status_code == 400
    blocked = client.post("/sign-in", data={"email": student.email, "password": TEST_PASSWORD})
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    # Another account from the same address is still allowed (until the address limit).
    other = client.post("/sign-in", data={"email": "someone@example.org", "password": "x"})
    assert other.status_code == 400


def test_sign_in_is_throttled_per_address(client, app):
    limit = int(app.config["SIGN_IN_RATE_LIMIT"].split()[0])
    for n in range(limit):
        response = client.post("/sign-in", data={"email": f"p{n}@example.org", "password": "x"})
        assert response.status_code == 400
    blocked = client.post("/sign-in", data={"email": "last@example.org", "password": "x"})
    assert blocked.status_code == 429


def test_successful_sign_ins_do_not_count_towards_the_limit(client, app, student):
    limit = int(app.config["SIGN_IN_ACCOUNT_RATE_LIMIT"].split()[0])
    for _ in range(limit + 2):
        login(client, student)
        client.post("/sign-out")


def test_change_password_needs_the_current_one(client, db, student):
    login(client, student)
    response = client.post(
        "/account/password",
        data={
            "current_password": "not my password",
            "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "current_password") == (
        "That is not your current password."
    )
    assert audit_actions(db, action="auth.password_change_refused")


@pytest.mark.parametrize(
    ("new", "confirm", "field", "message"),
    [
        ("short", "short", "new_password", "Use at least 12 characters."),
        ("long enough passphrase", "different passphrase", "confirm", "The two do not match."),
    ],
)
def test_change_password_rejects_bad_new_passwords(client, student, new, confirm, field, message):
    login(client, student)
    response = client.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "new_password": new, "confirm": confirm},
    )
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), field) == message


def test_change_password_signs_out_other_devices(app, client, db, student):
    other_device = app.test_client()
    login(other_device, student)
    login(client, student)
    new = "a brand new passphrase"
    response = client.post(
        "/account/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": new,
            "confirm": new,
            "end_other_sessions": "y",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this session carries on
    assert other_device.get("/").status_code == 302  # the other one has ended
    client.post("/sign-out")
    assert (
        client.post(
            "/sign-in", data={"email": student.email, "password": TEST_PASSWORD}
        ).status_code
        == 400
    )
    login(client, student, password=new)
    assert audit_actions(db, action="auth.password_changed")


def test_change_password_may_keep_other_devices_signed_in(app, client, db, student):
    other_device = app.test_client()
    login(other_device, student)
    login(client, student)
    page = client.get("/account/password").get_data(as_text=True)
    offer = re.search(r'<input[^>]*name="end_other_sessions"[^>]*>', page).group(0)
    assert "checked" in offer  # offered, and ticked unless the person says otherwise
    new = "a brand new passphrase"
    response = client.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "new_password": new, "confirm": new},
        follow_redirects=True,
    )
    assert "Your password has been changed." in response.get_data(as_text=True)
    assert "other devices have been signed out" not in response.get_data(as_text=True)
    assert other_device.get("/").status_code == 200
    [event] = audit_actions(db, action="auth.password_changed")
    assert event.after == {"other_sessions_ended": 0}


def test_deactivating_a_user_ends_their_session_at_once(client, db, student):
    login(client, student)
    assert client.get("/").status_code == 200
    _db.session.get(User, student.id).active = False
    _db.session.commit()
    assert client.get("/").status_code == 302


def test_passwords_are_stored_as_argon2id_hashes(db, student):
    assert student.password_hash.startswith("$argon2id$")
    assert TEST_PASSWORD not in student.password_hash


def test_production_cookies_are_secure_httponly_samesite(database_url):
    from clerkship import create_app
    from tests.conftest import test_config

    app = create_app(
        test_config(
            database_url, ENV="production", SECRET_KEY="k" * 32, BASE_URL="https://lic.example.edu"
        )
    )
    with app.test_request_context():
        from flask import session

        session["x"] = 1
        response = app.make_response("ok")
        app.session_interface.save_session(app, session, response)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
