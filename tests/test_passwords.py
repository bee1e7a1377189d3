"""Choosing passwords (length, common passwords, no composition rules) and resetting them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from clerkship.auth import links, passwords
from clerkship.models import AuditEvent, Role
from tests.conftest import TEST_PASSWORD, login


def field_error(html: str, field: str) -> str | None:
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    return match.group(1) if match else None


def change(client, new: str):
    return client.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "new_password": new, "confirm": new},
    )


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("eleven char", "Use at least 12 characters."),
        ("x" * 257, "Use at most 256 characters."),
        ("password1234", "This is one of the most common passwords."),
        ("qwerty123456", "This is one of the most common passwords."),
        ("Password123456!", "This is one of the most common passwords."),  # padded "password"
        ("!!Sunshine2026", "This is one of the most common passwords."),
        ("aaaaaaaaaaaaaaaa", "This repeats too few characters."),
        ("123456789012", "This repeats too few characters."),  # a run along the number line
        ("clerkship2026!", "Do not build your password from your name"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(client, db, student, new, message):
    login(client, student)
    response = change(client, new)
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "new_password").startswith(message)


@pytest.mark.parametrize(
    "new",
    [
        "correct horse battery staple",  # a passphrase: no digits, capitals or signs needed
        "mi perro se llama Café",  # any characters, accents included
        "lowercase only but long",
        "🦉 owls read at night 🌙",
        "p" + "assphrase-" * 6 + "x",  # 64 characters and more are fine
        "x7#Lq9!mZ2vR",  # and a random 12 from a password manager
    ],
)
def test_long_passwords_without_composition_rules_are_accepted(client, db, student, new):
    login(client, student)
    response = change(client, new)
    assert response.status_code == 302, field_error(response.text, "new_password")
    client.post("/sign-out")
    login(client, student, password=new)


def test_the_persons_own_name_is_refused(app, db, make_user):
    person = make_user(Role.PRECEPTOR, name="Marguerite Okonkwo")
    with app.test_request_context():
        assert passwords.problem("Okonkwo2026!!", person).startswith("Do not build")
        assert passwords.problem("Okonkwo plays the cello", person) is None


def test_the_common_list_comes_from_a_maintained_package(app):
    with app.app_context():
        common = passwords.common_passwords()
    assert len(common) >= 10_000
    assert {"password", "123456", "qwerty", "iloveyou"} <= common


def test_the_same_rules_apply_to_set_password_links(client, db, student):
    token = links.make_token(student)
    response = client.post(
        f"/account/set-password/{token}",
        data={"new_password": "iloveyou1234", "confirm": "iloveyou1234"},
    )
    assert response.status_code == 400
    assert "most common passwords" in field_error(response.text, "new_password")


def test_a_link_asked_for_expires_in_hours_one_sent_by_the_office_in_days(
    app, client, db, student, monkeypatch
):
    import time

    hours = app.config["PASSWORD_RESET_LINK_HOURS"]
    with monkeypatch.context() as earlier:  # both links made a little longer ago than that
        past = time.time() - hours * 3600 - 60
        earlier.setattr(time, "time", lambda: past)
        asked_for = links.make_token(student, asked_for=True)
        from_office = links.make_token(student)
    assert client.get(f"/account/set-password/{asked_for}").status_code == 404
    assert client.get(f"/account/set-password/{from_office}").status_code == 200
    fresh = links.make_token(student, asked_for=True)
    assert client.get(f"/account/set-password/{fresh}").status_code == 200


# Forgot password -------------------------------------------------------------------------


def test_sign_in_offers_a_way_back_in(client):
    page = client.get("/sign-in").get_data(as_text=True)
    assert 'href="/account/forgot-password"' in page


def test_forgot_password_sends_a_single_use_link(app, client, db, student):
    response = client.post("/account/forgot-password", data={"email": f"  {student.email} "})
    assert response.status_code == 200
    assert "a link to choose a new password is on its way" in response.text
    [message] = app.extensions["mail_outbox"]
    assert message["To"] == student.email
    assert f"for {app.config['PASSWORD_RESET_LINK_HOURS']} hours" in message.get_content()
    link = re.search(r"http\S+/account/set-password/\S+", message.get_content()).group(0)
    path = link[link.index("/account/") :]
    new = "a fresh start for the year"
    assert client.post(path, data={"new_password": new, "confirm": new}).status_code == 302
    login(client, student, password=new)
    assert client.get(path).status_code == 404  # used once, never again


def test_forgot_password_says_the_same_for_unknown_addresses(app, client, db, patient):
    known = client.post("/account/forgot-password", data={"email": "nobody@example.org"})
    assert known.status_code == 200
    assert "is on its way" in known.text
    assert app.extensions["mail_outbox"] == []
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions == ["auth.reset_requested_unknown"]


def test_reset_link_comes_from_base_url_never_from_the_host_header(app, client, db, student):
    client.post(
        "/account/forgot-password",
        data={"email": student.email},
        headers={"Host": "evil.example"},
    )
    [message] = app.extensions["mail_outbox"]
    assert "evil.example" not in message.get_content()
    base = re.escape(app.config["BASE_URL"])
    assert re.search(rf"{base}/account/set-password/\S+", message.get_content())


def test_patients_never_get_password_links(app, client, db, make_user):
    person = make_user(Role.PATIENT, email="pat@example.org")
    response = client.post("/account/forgot-password", data={"email": person.email})
    assert response.status_code == 200
    assert app.extensions["mail_outbox"] == []


def test_forgot_password_keeps_a_mistyped_address_beside_the_field(client):
    response = client.post("/account/forgot-password", data={"email": "not-an-address"})
    assert response.status_code == 400
    assert 'value="not-an-address"' in response.text
    assert field_error(response.text, "email")


def test_forgot_password_is_rate_limited_per_address_asked_for(app, client, db, student):
    limit = int(app.config["PASSWORD_RESET_ACCOUNT_RATE_LIMIT"].split()[0])
    for _ in range(limit):
        response = client.post("/account/forgot-password", data={"email": student.email})
        assert response.status_code == 200
    blocked = client.post("/account/forgot-password", data={"email": student.email})
    assert blocked.status_code == 429
    assert len(app.extensions["mail_outbox"]) == limit


def test_mistyped_addresses_do_not_use_up_the_limits(app, client, db, student):
    limit = int(app.config["PASSWORD_RESET_ACCOUNT_RATE_LIMIT"].split()[0])
    for _ in range(limit + 2):
        response = client.post("/account/forgot-password", data={"email": "student@"})
        assert response.status_code == 400
    assert (
        client.post("/account/forgot-password", data={"email": student.email}).status_code == 200
    )


def test_forgot_password_is_rate_limited_per_client(app, client, db):
    limit = int(app.config["PASSWORD_RESET_RATE_LIMIT"].split()[0])
    for n in range(limit):
        response = client.post("/account/forgot-password", data={"email": f"x{n}@example.org"})
        assert response.status_code == 200
    assert client.post(
        "/account/forgot-password", data={"email": "y@example.org"}
    ).status_code == (429)


def test_directors_reset_links_are_rate_limited_per_person(app, client, db, world):
    mine = world["mine"]
    login(client, mine["director"])
    limit = int(app.config["PASSWORD_RESET_ACCOUNT_RATE_LIMIT"].split()[0])
    url = f"/people/{mine['student'].id}/reset-password"
    for _ in range(limit):
        assert client.post(url).status_code == 302
    assert client.post(url).status_code == 429
    assert len(app.extensions["mail_outbox"]) == limit


def test_create_user_command_applies_the_same_password_rules(app, db):
    runner = app.test_cli_runner()
    args = ["create-user", "--role", "admin", "--email", "it@example.org", "--name", "IT"]
    refused = runner.invoke(args=[*args, "--password", "Password1234!"])
    assert refused.exit_code != 0
    assert "common" in refused.output.lower()
    from clerkship.auth.service import find_by_email

    assert find_by_email("it@example.org") is None
    made = runner.invoke(args=[*args, "--password", "quiet heron under the bridge"])
    assert made.exit_code == 0, made.output
    assert find_by_email("it@example.org") is not None
