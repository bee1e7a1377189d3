"""The school sign-in routes with a provider configured: every role, signed in by password or
through the school, and nobody signed in. (The access matrix covers them switched off.)"""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.sso.test_oidc import _claims, _sign_in

ROLES = ("student", "preceptor", "patient", "director", "admin")


def _person(world, role):
    return world["admin"] if role == "admin" else world["mine"][role]


def test_anonymous(client, openid):
    started = client.get("/sign-in/school?next=/goals/")
    assert started.status_code == 302 and started.location.startswith(openid.issuer)
    assert client.get("/sign-in/school/confirm").status_code == 302  # to the sign-in page
    assert client.get("/sign-in/school/confirm").location.startswith("/sign-in")
    # A callback nobody started is refused, whatever it carries.
    assert client.get("/sign-in/school/callback?code=x&state=y").status_code == 400
    assert client.post("/sign-in/school/callback").status_code == 405


@pytest.mark.parametrize("role", ROLES)
def test_signed_in_with_a_password(client, openid, world, role):
    login(client, _person(world, role))
    assert client.get("/sign-in/school").location == "/"
    # A fresh school sign-in means nothing for a password session: the password is asked.
    assert client.get("/sign-in/school/confirm?next=/").status_code == 404
    assert client.get("/sign-in/school/callback?code=x&state=y").status_code == 400


@pytest.mark.parametrize("role", [r for r in ROLES if r != "patient"])
def test_signed_in_through_the_school(client, openid, world, role):
    assert _sign_in(client, openid, _claims(_person(world, role))).status_code == 302
    assert client.get("/sign-in/school").location == "/"
    fresh = client.get("/sign-in/school/confirm?next=//evil.example/")
    assert fresh.status_code == 302 and "prompt=login" in fresh.location
