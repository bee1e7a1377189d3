"""Security headers on a page of every blueprint, signed in or not."""

from __future__ import annotations

import pytest

from clerkship import create_app
from tests.conftest import login, test_config

PAGES = {
    "auth": "/sign-in",
    "visit": "/p/" + "Z" * 32,
    "portfolios": "/verify",
    "static": "/static/css/app.css",
}
SIGNED_IN_PAGES = {
    "home": "/",
    "goals": "/goals/",
    "assessments": "/assessments/",
    "panels": "/panel/",
    "reflections": "/reflections/",
    "directory": "/students/{student}",
}


def _check(response) -> None:
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # plain http in tests


@pytest.mark.parametrize("page", sorted(PAGES))
def test_public_pages_carry_the_headers(client, db, page):
    response = client.get(PAGES[page])
    response.close()
    _check(response)


def test_signed_in_pages_carry_the_headers(client, db, world):
    student = world["mine"]["student"]
    login(client, student)
    for name, path in SIGNED_IN_PAGES.items():
        response = client.get(path.format(student=student.id))
        assert response.status_code in (200, 302), name
        _check(response)


def test_hsts_over_https_and_host_cookie_in_production(database_url):
    app = create_app(
        test_config(
            database_url,
            ENV="production",
            SECRET_KEY="x" * 64,
            TESTING=True,
            BASE_URL="https://lic.example.edu",
        )
    )
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = app.test_client().get("/sign-in", base_url="https://lic.example.edu")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = response.headers.get("Set-Cookie", "")
    assert cookie == "" or cookie.startswith("__Host-session=")


def test_untrusted_host_names_are_refused(database_url):
    app = create_app(test_config(database_url, TRUSTED_HOSTS=["lic.example.edu"]))
    client = app.test_client()
    refused = client.get("/sign-in", base_url="http://evil.example")
    assert refused.status_code == 400
    assert "not served here" in refused.get_data(as_text=True)
    assert client.get("/sign-in", base_url="http://lic.example.edu").status_code == 200
