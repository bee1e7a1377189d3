"""A real OpenID provider for the tests, built with Authlib's server components and served on
loopback in a thread: discovery, JWKS, authorization code flow with PKCE, signed ID tokens.

``Provider.person`` is who "signs in" at the provider next (the tests play the person);
``Provider.mode`` makes it misbehave on purpose: "expired", "wrong_nonce", "wrong_key".
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from dataclasses import dataclass, field

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, request
from joserfc.jwk import RSAKey

from tests.conftest import serving

# The provider and the app speak plain HTTP on loopback here (Authlib refuses it otherwise);
# a deployment's provider is HTTPS.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

CLIENT_ID = "clerkship-test"
CLIENT_SECRET = secrets.token_urlsafe(16)
KID = "test-key-1"


@dataclass
class Client(ClientMixin):
    redirect_uri: str = ""

    def get_client_id(self):
        return CLIENT_ID

    def get_default_redirect_uri(self):
        return self.redirect_uri

    def get_allowed_scope(self, scope):
        return " ".join(s for s in scope.split() if s in ("openid", "email", "profile"))

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri.startswith("http://localhost/") or redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, CLIENT_SECRET)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    redirect_uri: str
    scope: str
    nonce: str | None
    auth_time: int
    person: dict
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return ["pwd"]

    def is_expired(self):
        return False


@dataclass
class Provider:
    issuer: str = ""
    person: dict = field(default_factory=dict)
    mode: str | None = None
    # When the person last typed their password here: an SSO session older than a sign-in
    # asked with prompt=login must not count as fresh.
    logged_in_at: int = 0
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": KID}))
    other_key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": KID}))
    codes: dict = field(default_factory=dict)
    prompts: list = field(default_factory=list)


def build(provider: Provider) -> Flask:
    app = Flask("test_openid_provider")
    app.config["SECRET_KEY"] = "provider"
    client = Client()

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def save_authorization_code(self, code, req):
            provider.codes[code] = Code(
                code=code,
                redirect_uri=req.payload.redirect_uri,
                scope=req.payload.scope,
                nonce=req.payload.data.get("nonce"),
                auth_time=provider.logged_in_at,
                person=dict(provider.person),
                code_challenge=req.payload.data.get("code_challenge"),
                code_challenge_method=req.payload.data.get("code_challenge_method"),
            )

        def query_authorization_code(self, code, client):
            return provider.codes.get(code)

        def delete_authorization_code(self, authorization_code):
            provider.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code):
            return authorization_code.person

    class IDToken(OpenIDCode):
        def exists_nonce(self, nonce, req):
            return False

        def resolve_client_private_key(self, client):
            return provider.other_key if provider.mode == "wrong_key" else provider.key

        def get_client_algorithm(self, client):
            return "RS256"

        def get_encode_header(self, client):
            return {"alg": "RS256", "kid": KID}

        def get_client_claims(self, client):
            now = int(time.time())
            if provider.mode == "expired":
                return {"iss": provider.issuer, "iat": now - 3600, "exp": now - 1800}
            return {"iss": provider.issuer, "iat": now, "exp": now + 300}

        def get_authorization_code_claims(self, authorization_code):
            claims = super().get_authorization_code_claims(authorization_code)
            if provider.mode == "wrong_nonce":
                claims["nonce"] = "not-the-nonce-that-was-sent"
            return claims

        def generate_user_info(self, user, scope):
            return UserInfo(user)

    server = AuthorizationServer(
        app,
        query_client=lambda cid: client if cid == CLIENT_ID else None,
        save_token=lambda *a: None,
    )
    server.register_grant(CodeGrant, [CodeChallenge(required=True), IDToken(require_nonce=True)])

    @app.get("/.well-known/openid-configuration")
    def discovery():
        return jsonify(
            issuer=provider.issuer,
            authorization_endpoint=provider.issuer + "/authorize",
            token_endpoint=provider.issuer + "/token",
            jwks_uri=provider.issuer + "/jwks",
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            code_challenge_methods_supported=["S256"],
        )

    @app.get("/jwks")
    def jwks():
        return jsonify(keys=[provider.key.as_dict(private=False)])

    @app.get("/authorize")
    def authorize():
        client.redirect_uri = request.args.get("redirect_uri", "")
        prompt = request.args.get("prompt")
        provider.prompts.append((prompt, request.args.get("max_age")))
        # The person signs in here: with prompt=login they type their password again now.
        if prompt == "login" or not provider.logged_in_at:
            provider.logged_in_at = int(time.time())
        grant = server.get_consent_grant(end_user=provider.person)
        return server.create_authorization_response(grant_user=provider.person, grant=grant)

    @app.post("/token")
    def token():
        return server.create_token_response()

    return app


class Running:
    """The provider served on 127.0.0.1 (an ephemeral port) until ``stop()``."""

    def __init__(self):
        self.provider = Provider()
        app = build(self.provider)
        self._serving = contextlib.ExitStack()
        self.provider.issuer = self._serving.enter_context(serving(app))

    def stop(self):
        self._serving.close()
