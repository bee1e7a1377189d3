"""A real SAML 2.0 identity provider for the tests: pysaml2's ``saml2.server.Server`` behind a
small Flask app, served on loopback in a thread, with its own generated key and certificate.

It reads the SP's metadata from the app under test (the same exchange a school does) and
publishes its own for ``SAML_IDP_METADATA``. Endpoints: single sign-on and single logout, both
over HTTP-Redirect; answers go back over HTTP-POST (sign-on) and HTTP-Redirect (logout).

``IdP.person`` is who "signs in" at the IdP next (attribute name -> values); ``IdP.mode``
makes it misbehave on purpose: "unsigned", "wrong_key", "expired", "wrong_audience",
"replay" (reuses the previous assertion's ID), "ignore_force" (ForceAuthn ignored: the old
AuthnInstant), "encrypted" (the assertion encrypted to the SP's certificate: allowed).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import saml2.s_utils
from flask import Flask, redirect, request
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server

from clerkship.sso.saml import SIGN_ALG, write_key_pair
from tests.conftest import serving

PASSWORD_CLASS = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
ASSERTION_ID = re.compile(r'<(?:\w+:)?Assertion\b[^>]*?\sID="([^"]+)"')
SESSION_INDEX = re.compile(r'SessionIndex="([^"]+)"')


@dataclass
class IdP:
    base: str = ""
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="saml-idp-")))
    person: dict = field(default_factory=dict)
    mode: str | None = None
    sp_metadata: str = ""
    # When the person last typed their password here (the IdP's own session).
    logged_in_at: int = 0
    force_authn_seen: list = field(default_factory=list)
    logout_requests: list = field(default_factory=list)
    last_response: str = ""
    last_assertion_id: str | None = None
    last_name_id: NameID | None = None
    last_session_index: str | None = None
    servers: dict = field(default_factory=dict)

    @property
    def entity_id(self) -> str:
        return self.base + "/idp/metadata"

    def __post_init__(self):
        write_key_pair(self.folder / "idp-key.pem", self.folder / "idp-cert.pem", "Test IdP")
        write_key_pair(self.folder / "other-key.pem", self.folder / "other-cert.pem", "Not IdP")

    def reset(self):
        self.mode, self.logged_in_at = None, 0
        self.force_authn_seen.clear()
        self.logout_requests.clear()

    def _settings(self, key: str, lifetime_minutes: int) -> dict:
        return {
            "entityid": self.entity_id,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "key_file": str(self.folder / f"{key}-key.pem"),
            "cert_file": str(self.folder / f"{key}-cert.pem"),
            "signing_algorithm": SIGN_ALG,
            "digest_algorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(self.base + "/sso", BINDING_HTTP_REDIRECT)],
                        "single_logout_service": [(self.base + "/slo", BINDING_HTTP_REDIRECT)],
                    },
                    "want_authn_requests_signed": True,
                    "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": lifetime_minutes},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_URI,
                        }
                    },
                }
            },
            "metadata": {"inline": [self.sp_metadata]} if self.sp_metadata else {},
        }

    def server(self, key: str = "idp", lifetime_minutes: int = 5) -> Server:
        """A pysaml2 IdP server (one per key and assertion lifetime, made when first used)."""
        name = (key, lifetime_minutes, self.sp_metadata)
        if name not in self.servers:
            config = IdPConfig()
            config.load(self._settings(key, lifetime_minutes))
            self.servers[name] = Server(config=config)
        return self.servers[name]

    def metadata(self) -> str:
        config = IdPConfig()
        config.load({**self._settings("idp", 5), "metadata": {}})
        return create_metadata_string(None, config=config, sign=False).decode()

    def trust(self, sp_metadata: str) -> None:
        self.sp_metadata = sp_metadata

    # ---- what the IdP's pages do ------------------------------------------------------------

    def sign_on(self, args) -> str:
        """The IdP's answer to an AuthnRequest: the auto-posting HTML form to the SP."""
        server = self.server()
        parsed = server.parse_authn_request(
            args["SAMLRequest"],
            BINDING_HTTP_REDIRECT,
            relay_state=args.get("RelayState"),
            sigalg=args.get("SigAlg"),
            signature=args.get("Signature"),
        )
        message = parsed.message
        forced = message.force_authn in ("true", "1")
        self.force_authn_seen.append(forced)
        now = int(time.time())
        # The person types their password when there is no IdP session, or when the SP
        # asked for ForceAuthn (unless this IdP is told to ignore it).
        if not self.logged_in_at or (forced and self.mode != "ignore_force"):
            self.logged_in_at = now
        key = "other" if self.mode == "wrong_key" else "idp"
        lifetime = -10 if self.mode == "expired" else 5
        signer = self.server(key, lifetime)
        destination = message.assertion_consumer_service_url
        audience = "https://elsewhere.example/sp" if self.mode == "wrong_audience" else None
        self.last_name_id = NameID(
            format=NAMEID_FORMAT_PERSISTENT, text="idp-" + self.person["uid"][0]
        )
        replayed = self.last_assertion_id if self.mode == "replay" else None
        real_sid = saml2.s_utils.sid
        if replayed:
            saml2.s_utils.sid = lambda: (
                replayed
            )  # the assertion's ID only (s_utils.assertion_factory)
        try:
            response = signer.create_authn_response(
                identity={k: v for k, v in self.person.items() if k != "uid"},
                in_response_to=message.id,
                destination=destination,
                sp_entity_id=audience or message.issuer.text,
                name_id=self.last_name_id,
                authn={
                    "class_ref": PASSWORD_CLASS,
                    "authn_instant": self.logged_in_at,
                },
                sign_assertion=self.mode != "unsigned",
                sign_response=False,
                sign_alg=SIGN_ALG,
                digest_alg="http://www.w3.org/2001/04/xmlenc#sha256",
                encrypt_assertion=self.mode == "encrypted",
                encrypt_cert_assertion=self._sp_cert() if self.mode == "encrypted" else None,
            )
        finally:
            saml2.s_utils.sid = real_sid
        text = self.last_response = str(response)
        found = ASSERTION_ID.search(text)
        if found:
            self.last_assertion_id = found.group(1)
        index = SESSION_INDEX.search(text)
        if index:
            self.last_session_index = index.group(1)
        info = server.apply_binding(
            BINDING_HTTP_POST, text, destination, args.get("RelayState", ""), response=True
        )
        return info["data"]

    def _sp_cert(self) -> str:
        found = re.search(r"<(?:\w+:)?X509Certificate>([^<]+)<", self.sp_metadata)
        assert found, "the SP metadata has no certificate"
        return found.group(1)

    def logout(self, args) -> str:
        """The SP asks to end the person's session here: answer with a signed LogoutResponse."""
        server = self.server()
        parsed = server.parse_logout_request(
            args["SAMLRequest"],
            BINDING_HTTP_REDIRECT,
            relay_state=args.get("RelayState"),
            sigalg=args.get("SigAlg"),
            signature=args.get("Signature"),
        )
        self.logout_requests.append(parsed.message)
        self.logged_in_at = 0
        response = server.create_logout_response(
            parsed.message,
            [BINDING_HTTP_REDIRECT],
            status=samlp.Status(status_code=samlp.StatusCode(value=samlp.STATUS_SUCCESS)),
            sign=False,
        )
        destination = server.metadata.single_logout_service(
            parsed.message.issuer.text, BINDING_HTTP_REDIRECT, "spsso"
        )[0]["location"]
        info = server.apply_binding(
            BINDING_HTTP_REDIRECT,
            str(response),
            destination,
            args.get("RelayState", ""),
            response=True,
            sign=True,
            sigalg=SIGN_ALG,
        )
        return dict(info["headers"])["Location"]

    def logout_request_url(self, sp_entity_id: str, *, key: str = "idp") -> str:
        """IdP-initiated single logout: the URL of the SP's SLO endpoint with our signed
        LogoutRequest for the person who signed in last."""
        server = self.server(key)
        destination = server.metadata.single_logout_service(
            sp_entity_id, BINDING_HTTP_REDIRECT, "spsso"
        )[0]["location"]
        _id, request_ = server.create_logout_request(
            destination,
            sp_entity_id,
            name_id=self.last_name_id,
            session_indexes=[self.last_session_index] if self.last_session_index else None,
            sign=False,
        )
        info = server.apply_binding(
            BINDING_HTTP_REDIRECT, str(request_), destination, "", sign=True, sigalg=SIGN_ALG
        )
        return dict(info["headers"])["Location"]


def build(idp: IdP) -> Flask:
    app = Flask("test_saml_idp")

    @app.get("/idp/metadata")
    def metadata():
        return idp.metadata(), 200, {"Content-Type": "application/samlmetadata+xml"}

    @app.get("/sso")
    def sso():
        return idp.sign_on(request.args)

    @app.get("/slo")
    def slo():
        return redirect(idp.logout(request.args))

    return app


class Running:
    """The IdP served on ``host`` (an ephemeral port) until ``stop()``."""

    def __init__(self, host: str = "127.0.0.1"):
        self.idp = IdP()
        self._serving = contextlib.ExitStack()
        base = self._serving.enter_context(serving(build(self.idp)))
        self.idp.base = base.replace("127.0.0.1", host, 1)
        self.metadata_file = self.idp.folder / "idp-metadata.xml"
        self.metadata_file.write_text(self.idp.metadata())

    def stop(self):
        self._serving.close()
        shutil.rmtree(self.idp.folder, ignore_errors=True)
