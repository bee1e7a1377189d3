"""The test OpenID provider (started once, on loopback) and the app pointed at it."""

from __future__ import annotations

import os

import pytest

# The provider and the test client speak plain HTTP on loopback; production uses HTTPS.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

from tests.assessments.conftest import make_cycle, scaled  # noqa: F401
from tests.sso import provider as op


@pytest.fixture(scope="session")
def running_op():
    running = op.Running()
    yield running
    running.stop()


@pytest.fixture
def openid(app, running_op, monkeypatch):
    provider = running_op.provider
    provider.mode, provider.logged_in_at, provider.prompts[:] = None, 0, []
    monkeypatch.setitem(app.config, "OIDC_ISSUER", provider.issuer)
    monkeypatch.setitem(app.config, "OIDC_CLIENT_ID", op.CLIENT_ID)
    monkeypatch.setitem(app.config, "OIDC_CLIENT_SECRET", op.CLIENT_SECRET)
    return provider


# ---- SAML --------------------------------------------------------------------------------

from tests.sso import saml_idp  # noqa: E402


@pytest.fixture(scope="session")
def running_idp():
    running = saml_idp.Running()
    yield running
    running.stop()


@pytest.fixture
def saml_idp_on(app, running_idp, monkeypatch):
    """The app with SAML on, trusting the test IdP, and the IdP trusting the app's metadata
    (fetched from /sso/saml/metadata, as a school's IT would). The SP's key pair is the
    suite's (tests/conftest.py)."""
    monkeypatch.setitem(app.config, "SAML_IDP_METADATA", str(running_idp.metadata_file))
    idp = running_idp.idp
    idp.reset()
    idp.trust(app.test_client().get("/sso/saml/metadata").get_data(as_text=True))
    return idp
