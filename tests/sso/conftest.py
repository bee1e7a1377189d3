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
