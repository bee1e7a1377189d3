"""The OpenID Connect relying party (Authlib): discovery, code flow with PKCE, state and nonce,
and an ID token checked for issuer, audience, expiry, nonce and signature (the provider's JWKS).

Settings: ``OIDC_ISSUER`` (discovery at ``<issuer>/.well-known/openid-configuration``),
``OIDC_CLIENT_ID``, ``OIDC_CLIENT_SECRET``, ``OIDC_SCOPE``.
"""

from __future__ import annotations

import secrets
import time

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import current_app, session
from joserfc.errors import JoseError
from requests import RequestException

# Where the fresh sign-in before a signature keeps what it asked for (one at a time).
FRESH_KEY = "oidc_fresh"


class Refused(Exception):
    """The provider's answer cannot be trusted; ``reason`` is recorded, never shown raw."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def enabled() -> bool:
    return bool(current_app.config.get("OIDC_ISSUER") and current_app.config.get("OIDC_CLIENT_ID"))


def _client():
    """One Authlib client per provider and app (its discovery document and keys are cached)."""
    config = current_app.config
    clients = current_app.extensions.setdefault("clerkship_oidc", {})
    key = (config["OIDC_ISSUER"], config["OIDC_CLIENT_ID"])
    if key not in clients:
        oauth = OAuth(current_app)
        clients[key] = oauth.register(
            "school",
            client_id=config["OIDC_CLIENT_ID"],
            client_secret=config.get("OIDC_CLIENT_SECRET"),
            server_metadata_url=config["OIDC_ISSUER"].rstrip("/")
            + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": config["OIDC_SCOPE"],
                "code_challenge_method": "S256",
                "timeout": 10,
            },
        )
    return clients[key]


def start(redirect_uri: str, *, fresh: bool = False):
    """Redirect to the provider. ``fresh``: the person must enter their credentials again
    (``prompt=login``, ``max_age=0``), whatever session they hold there."""
    # Authlib keeps each started flow's state in the session cookie: keep only the newest, or
    # every click on "sign in with the school" would grow the cookie past what browsers keep.
    for key in [key for key in session if key.startswith("_state_school_")]:
        session.pop(key)
    extra: dict = {"nonce": secrets.token_urlsafe(24)}
    if fresh:
        extra.update(prompt="login", max_age=0)
        session[FRESH_KEY] = int(time.time())
    else:
        session.pop(FRESH_KEY, None)
    return _client().authorize_redirect(redirect_uri, **extra)


def finish() -> tuple[dict, int | None]:
    """The verified ID token claims, and when the fresh sign-in was asked for (None: a plain
    sign-in). Raises Refused for a wrong state, a wrong nonce, or an ID token that is expired,
    for someone else, from another issuer or not signed with the provider's keys."""
    asked_at = session.pop(FRESH_KEY, None)
    try:
        token = _client().authorize_access_token()
    except (AuthlibBaseError, JoseError) as error:
        raise Refused(getattr(error, "error", None) or type(error).__name__) from error
    except (ValueError, KeyError, RequestException) as error:
        raise Refused(type(error).__name__) from error
    claims = token.get("userinfo")
    if not claims:
        raise Refused("no_id_token")
    if claims.get("iss") != current_app.config["OIDC_ISSUER"]:
        raise Refused("wrong_issuer")
    if asked_at is not None:
        auth_time = claims.get("auth_time")
        # A sign-in that happened before we asked for a fresh one is no fresh sign-in.
        if not isinstance(auth_time, int) or auth_time < asked_at - 5:
            raise Refused("not_fresh")
    return dict(claims), asked_at
