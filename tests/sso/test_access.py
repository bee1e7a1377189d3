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


# ---- SAML, with the test IdP configured ----------------------------------------------------


def test_saml_anonymous(client, saml_idp_on):
    started = client.get("/sign-in/school/saml?next=/goals/")
    assert started.status_code == 302 and started.location.startswith(saml_idp_on.base + "/sso?")
    assert client.get("/sso/saml/metadata").status_code == 200
    # The ACS takes POSTs from the IdP's page only; GET is not a route.
    assert client.get("/sso/saml/acs").status_code == 405
    assert client.post("/sso/saml/acs", data={"relayed": "1"}).status_code == 400
    assert client.get("/sso/saml/slo").status_code == 400
    assert client.get("/sso/saml/slo?SAMLRequest=x").status_code == 400


@pytest.mark.parametrize("role", ROLES)
def test_saml_signed_in_with_a_password(client, saml_idp_on, world, role):
    login(client, _person(world, role))
    assert client.get("/sign-in/school/saml").location == "/"
    # A password session has no school sign-in to refresh: the password is asked instead.
    assert client.get("/sign-in/school/confirm?next=/").status_code == 404
    assert client.post("/sso/saml/acs", data={"relayed": "1"}).status_code == 400
    assert client.get("/sso/saml/slo?SAMLResponse=x").status_code == 400
    assert client.get("/").status_code == 200  # nothing above ended the session


@pytest.mark.parametrize("role", [r for r in ROLES if r != "patient"])
def test_saml_signed_in_through_the_school(client, saml_idp_on, world, role):
    from tests.sso.test_saml import person, sign_in

    assert sign_in(client, saml_idp_on, person(_person(world, role))).status_code == 302
    assert client.get("/sign-in/school/saml").location == "/"
    fresh = client.get("/sign-in/school/confirm?next=//evil.example/")
    assert fresh.status_code == 302 and fresh.location.startswith(saml_idp_on.base + "/sso?")
    assert client.get("/").status_code == 200
