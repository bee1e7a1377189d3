"""The SAML 2.0 service provider (pysaml2, which signs and checks XML through ``xmlsec1``).

Why pysaml2: it is maintained, pure Python, and calls the ``xmlsec1`` program that Debian ships
(``make saml-tools``); python3-saml needs the ``xmlsec`` wheel, whose bundled libxmlsec1 clashes
with the system one. Its ``saml2.server.Server`` also gives the tests a real identity provider.

What pysaml2 checks for us on every response: the assertion's signature against the IdP's
certificate from its metadata (``want_assertions_signed``), the audience (our entity id), the
recipient and destination (our ACS URL), the time window, and InResponseTo against the one
request this browser started. What we add: the RelayState, replay (assertion ids are kept in
the database until they expire, so several workers share them), and, before a signature, an
AuthnInstant later than our ForceAuthn request.

Settings: ``SAML_IDP_METADATA`` (a file path or an https URL; unset: SAML is off),
``SAML_SP_ENTITY_ID`` (default: the metadata URL), ``SAML_SP_KEY``/``SAML_SP_CERT`` (PEM files;
generated into the instance folder in development and testing), ``SAML_ATTRIBUTES``.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app, session, url_for
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.ident import code as encode_name_id
from saml2.ident import decode as decode_name_id
from saml2.metadata import entity_descriptor
from saml2.sigver import verify_redirect_signature
from saml2.time_util import str_to_time
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from clerkship import key_files
from clerkship.extensions import db
from clerkship.models import SamlAssertion, utcnow

log = logging.getLogger(__name__)

# One pending sign-in per browser (the newest wins), kept in the signed session cookie.
PENDING_KEY = "saml_pending"
# Who the IdP said this browser is, for single logout.
SUBJECT_KEY = "saml_subject"
LOGOUT_KEY = "saml_logout"
# A pending sign-in older than this is refused (the person walked away from the IdP page).
PENDING_SECONDS = 15 * 60
SIGN_ALG = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
DIGEST_ALG = "http://www.w3.org/2001/04/xmlenc#sha256"


class Refused(Exception):
    """The IdP's answer cannot be trusted; ``reason`` (and pysaml2's ``detail``) is recorded
    in the audit log, never shown raw."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail[:300]


class Unavailable(Exception):
    """The IdP's metadata cannot be read (a missing file, an unreachable URL, not one IdP)."""


@dataclass
class Answer:
    """A verified SAML sign-in: the mapped attributes and how the person authenticated."""

    claims: dict
    fresh_asked_at: int | None
    next_url: str | None
    subject: dict


def enabled() -> bool:
    return bool(current_app.config.get("SAML_IDP_METADATA"))


def entity_id() -> str:
    return current_app.config.get("SAML_SP_ENTITY_ID") or _url("sso.saml_metadata")


def _url(endpoint: str) -> str:
    # Built from BASE_URL, never from the request's Host header: the IdP knows these URLs.
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint)


def key_pair() -> tuple[str, str]:
    """The SP's signing and decryption key and certificate (PEM file paths)."""
    config = current_app.config
    if config.get("SAML_SP_KEY") and config.get("SAML_SP_CERT"):
        return config["SAML_SP_KEY"], config["SAML_SP_CERT"]
    if config["ENV"] not in ("development", "testing"):
        raise RuntimeError("SAML_SP_KEY and SAML_SP_CERT must be set for SAML sign-in.")
    folder = Path(current_app.instance_path)
    key, cert = folder / "saml-sp-key.pem", folder / "saml-sp-cert.pem"
    with key_files.writing(folder):  # workers signing in together make one pair
        if not key.exists() or not cert.exists():
            write_key_pair(key, cert, "Clerkship development SP")
    return str(key), str(cert)


def write_key_pair(key_path: Path, cert_path: Path, name: str) -> None:
    """A new RSA key and a self-signed certificate for it (SAML metadata carries the
    certificate; nobody checks its chain, only that messages are signed by its key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(private, hashes.SHA256())
    )
    key_files.write_private(
        key_path,
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    key_files.write_private(cert_path, certificate.public_bytes(serialization.Encoding.PEM))


def _settings(with_idp: bool) -> dict:
    config = current_app.config
    key, cert = key_pair()
    xmlsec = shutil.which("xmlsec1")
    if xmlsec is None:
        raise RuntimeError("xmlsec1 is missing: `make saml-tools` (or apt-get install xmlsec1).")
    settings: dict = {
        "entityid": entity_id(),
        "xmlsec_binary": xmlsec,
        "key_file": key,
        "cert_file": cert,
        # Optional encrypted assertions: the IdP encrypts to our certificate, we decrypt.
        "encryption_keypairs": [{"key_file": key, "cert_file": cert}],
        "accepted_time_diff": config["SAML_CLOCK_SKEW_SECONDS"],
        "allow_unknown_attributes": True,
        "signing_algorithm": SIGN_ALG,
        "digest_algorithm": DIGEST_ALG,
        "service": {
            "sp": {
                "name": config["PROGRAM_NAME"],
                "endpoints": {
                    "assertion_consumer_service": [(_url("sso.saml_acs"), BINDING_HTTP_POST)],
                    # Redirect only: a GET carries our SameSite=Lax session cookie, so the
                    # IdP's logout request finds the session it must end.
                    "single_logout_service": [(_url("sso.saml_slo"), BINDING_HTTP_REDIRECT)],
                },
                "want_assertions_signed": True,
                "want_response_signed": False,
                "authn_requests_signed": True,
                "logout_requests_signed": True,
                "logout_responses_signed": True,
                "allow_unsolicited": False,
                "name_id_format_allow_create": True,
            }
        },
    }
    if with_idp:
        source = config["SAML_IDP_METADATA"]
        if str(source).startswith(("https://", "http://")):
            remote = {"url": source}
            if config.get("SAML_IDP_METADATA_CERT"):
                remote["cert"] = config["SAML_IDP_METADATA_CERT"]
            settings["metadata"] = {"remote": [remote]}
        else:
            settings["metadata"] = {"local": [str(source)]}
    return settings


def _client() -> Saml2Client:
    """One client per IdP metadata and app (parsing metadata and certificates is slow; a
    changed metadata file is read at the next restart)."""
    clients = current_app.extensions.setdefault("clerkship_saml", {})
    key = (current_app.config["SAML_IDP_METADATA"], entity_id())
    if key not in clients:
        try:
            sp_config = SPConfig()
            sp_config.load(_settings(with_idp=True))
            client = Saml2Client(config=sp_config)
        except Exception as error:  # pysaml2 raises many types for unreadable metadata
            log.exception("SAML: the IdP metadata cannot be used")
            raise Unavailable(str(error)) from error
        if len(list(client.metadata.identity_providers())) != 1:
            raise Unavailable("SAML_IDP_METADATA must describe exactly one identity provider.")
        clients[key] = client  # only a usable client is kept: a failure is tried again
    return clients[key]


def idp_entity_id() -> str:
    return next(iter(_client().metadata.identity_providers()))


def metadata_xml() -> str:
    """Our SP metadata (answers even before an IdP is configured). Made once per app: pysaml2
    asks ``xmlsec1`` which algorithms it knows each time."""
    cache = current_app.extensions.setdefault("clerkship_saml_metadata", {})
    key = (entity_id(), *key_pair())
    if key not in cache:
        sp_config = SPConfig()
        sp_config.load(_settings(with_idp=False))
        descriptor = entity_descriptor(sp_config)
        # pysaml2 lists every algorithm xmlsec1 knows, MD5 and SHA-1 included; advertising
        # none lets the IdP use its defaults (SHA-256 for Shibboleth), which we accept.
        descriptor.extensions = None
        cache[key] = descriptor.to_string().decode()
    return cache[key]


def start(next_url: str | None, *, fresh: bool = False) -> str:
    """The IdP URL to send the browser to with a signed AuthnRequest. ``fresh``: ForceAuthn,
    the person must authenticate again whatever session they hold at the IdP."""
    relay = secrets.token_urlsafe(24)
    request_id, info = _client().prepare_for_authenticate(
        entityid=idp_entity_id(),
        relay_state=relay,
        binding=BINDING_HTTP_REDIRECT,
        sigalg=SIGN_ALG,
        digest_alg=DIGEST_ALG,
        force_authn="true" if fresh else None,
    )
    session[PENDING_KEY] = {
        "id": request_id,
        "relay": relay,
        "at": int(time.time()),
        "fresh": fresh,
        "next": next_url,
    }
    return dict(info["headers"])["Location"]


def has_pending() -> bool:
    return isinstance(session.get(PENDING_KEY), dict)


def finish(saml_response: str, relay_state: str) -> Answer:
    """Check the IdP's POSTed response against the request this browser started. Raises
    Refused for anything not signed by the IdP, for another audience or recipient, out of
    its time window, answering another request, replayed, or (fresh) not a new sign-in."""
    pending = session.pop(PENDING_KEY, None)
    if not isinstance(pending, dict):
        raise Refused("no_request")
    # Bytes: compare_digest refuses non-ASCII str (the fuzzer posts such RelayStates).
    if not secrets.compare_digest(str(relay_state).encode(), str(pending["relay"]).encode()):
        raise Refused("wrong_relay_state")
    if time.time() - pending["at"] > PENDING_SECONDS:
        raise Refused("request_expired")
    client = _client()
    try:
        response = client.parse_authn_request_response(
            saml_response, BINDING_HTTP_POST, outstanding={pending["id"]: pending["next"] or ""}
        )
    except Exception as error:  # pysaml2 raises many unrelated types for a bad response
        raise Refused(type(error).__name__, str(error)) from error
    if response is None or response.assertion is None:
        raise Refused("no_assertion")
    if response.issuer() != idp_entity_id():
        raise Refused("wrong_issuer")
    authn = response.assertion.authn_statement
    if not authn or not authn[0].authn_instant:
        raise Refused("no_authn_statement")
    authn_instant = calendar.timegm(str_to_time(authn[0].authn_instant))
    skew = current_app.config["SAML_CLOCK_SKEW_SECONDS"]
    if pending["fresh"] and authn_instant < pending["at"] - skew:
        # An IdP that ignored ForceAuthn answers with the old sign-in: no fresh proof.
        raise Refused("not_fresh")
    _remember_once(response.issuer(), response.assertion.id, response.not_on_or_after)
    info = response.session_info()
    return Answer(
        claims=_claims(response.ava, response.issuer(), authn_instant),
        fresh_asked_at=pending["at"] if pending["fresh"] else None,
        next_url=pending["next"],
        subject={
            "name_id": encode_name_id(info["name_id"]),
            "session_index": info.get("session_index"),
        },
    )


def _remember_once(issuer: str, message_id: str, not_on_or_after: int) -> None:
    """Refuse a message id seen before (an assertion, or a LogoutRequest: ``_LOGOUT`` + its
    id); keep it until it could no longer be accepted."""
    now = utcnow()
    skew = timedelta(seconds=current_app.config["SAML_CLOCK_SKEW_SECONDS"])
    expires = (
        datetime.fromtimestamp(not_on_or_after, UTC)
        if not_on_or_after
        else now + timedelta(days=1)
    ) + skew
    db.session.execute(delete(SamlAssertion).where(SamlAssertion.expires_at < now))
    digest = hashlib.sha256(f"{issuer}\n{message_id}".encode()).hexdigest()
    try:
        with db.session.begin_nested():
            db.session.add(SamlAssertion(id=digest, expires_at=expires))
            db.session.flush()
    except IntegrityError as error:
        raise Refused("replayed") from error


# LogoutRequest ids kept apart from assertion ids: the IdP may draw both from one sequence.
_LOGOUT = "LogoutRequest\n"


def _claims(ava: dict, issuer: str, authn_instant: int) -> dict:
    """The IdP's attributes under the names the linking service reads (SAML_ATTRIBUTES maps
    each to the attribute's friendly name, e.g. {"email": "mail"})."""
    mapping = current_app.config["SAML_ATTRIBUTES"]

    def first(name: str) -> str | None:
        values = ava.get(mapping.get(name, ""), [])
        return values[0] if values and isinstance(values[0], str) else None

    affiliations = ava.get(mapping.get("affiliation", ""), [])
    return {
        "iss": issuer,
        "auth_time": authn_instant,
        "email": first("email"),
        # The school's own IdP asserting its directory's mail, in a signed assertion: as
        # good as OIDC's email_verified (the linking service requires it, explicitly).
        "email_verified": True,
        "external_id": first("external_id"),
        "name": first("name"),
        "affiliations": [a for a in affiliations if isinstance(a, str)],
    }


# ---- single logout -------------------------------------------------------------------------


def idp_logout_url() -> str | None:
    try:
        services = _client().metadata.single_logout_service(
            idp_entity_id(), BINDING_HTTP_REDIRECT, "idpsso"
        )
    except Exception:  # no metadata, no SLO: a local sign-out only
        log.exception("SAML IdP metadata unusable for single logout")
        return None
    return services[0]["location"] if services else None


def start_logout(subject: dict) -> str | None:
    """After the local sign-out: the IdP URL with our signed LogoutRequest, or None when the
    IdP has no single logout. The request id is kept to match the IdP's answer."""
    destination = idp_logout_url()
    if destination is None or not isinstance(subject, dict):
        return None
    client = _client()
    request_id, request = client.create_logout_request(
        destination,
        idp_entity_id(),
        name_id=decode_name_id(subject["name_id"]),
        session_indexes=[subject["session_index"]] if subject.get("session_index") else None,
        sign=False,
    )
    info = client.apply_binding(
        BINDING_HTTP_REDIRECT,
        str(request),
        destination,
        relay_state="",
        sign=True,
        sigalg=SIGN_ALG,
    )
    session[LOGOUT_KEY] = request_id
    return dict(info["headers"])["Location"]


def _signed_by_idp(query: dict, kind: str) -> bool:
    """Redirect-binding messages carry their signature in the query string (pysaml2 checks
    it only for AuthnRequests at an IdP): check it against the IdP's signing certificates."""
    if not query.get("Signature") or not query.get("SigAlg"):
        return False
    message = {k: query[k] for k in (kind, "RelayState", "SigAlg", "Signature") if k in query}
    client = _client()
    for _name, cert in client.metadata.certs(idp_entity_id(), "idpsso", "signing"):
        try:
            if verify_redirect_signature(message, client.sec.sec_backend, cert):
                return True
        except Exception:  # noqa: S112 (a malformed signature is simply not valid)
            continue
    return False


def finish_logout(query: dict) -> None:
    """The IdP's LogoutResponse to our request. Raises Refused when it is not the IdP's
    signed answer to the request this browser sent."""
    expected = session.pop(LOGOUT_KEY, None)
    if not expected or not _signed_by_idp(query, "SAMLResponse"):
        raise Refused("logout_unsigned")
    try:
        response = _client().parse_logout_request_response(
            query["SAMLResponse"], BINDING_HTTP_REDIRECT
        )
    except Exception as error:
        raise Refused(type(error).__name__, str(error)) from error
    if response is None or response.response.in_response_to != expected:
        raise Refused("logout_wrong_request")


def idp_logout_request(query: dict, subject: dict | None) -> tuple[bool, str]:
    """The IdP asks us to end a session (it is signing the person out everywhere). Returns
    whether it names this browser's session, and the URL with our signed LogoutResponse."""
    if not _signed_by_idp(query, "SAMLRequest"):
        raise Refused("logout_unsigned")
    client = _client()
    try:
        request = client.parse_logout_request(
            query["SAMLRequest"], BINDING_HTTP_REDIRECT, relay_state=query.get("RelayState")
        )
    except Exception as error:
        raise Refused(type(error).__name__, str(error)) from error
    if request is None or request.issuer.text != idp_entity_id():
        raise Refused("logout_wrong_issuer")
    message = request.message
    # A LogoutRequest captured once (a browser history, a proxy log) must not end a later
    # session of the same person: each id is honoured once, in the same table as assertions.
    try:
        ends = calendar.timegm(str_to_time(message.not_on_or_after))
    except (TypeError, ValueError, AttributeError):
        ends = 0  # none given (or unreadable): kept as long as an assertion without one
    _remember_once(idp_entity_id(), _LOGOUT + str(message.id), ends)
    ours = isinstance(subject, dict) and _same_subject(message, subject)
    response = client.create_logout_response(
        message, [BINDING_HTTP_REDIRECT], status=_success(), sign=False
    )
    destination = idp_logout_url() or ""
    info = client.apply_binding(
        BINDING_HTTP_REDIRECT,
        str(response),
        destination,
        relay_state=query.get("RelayState", ""),
        response=True,
        sign=True,
        sigalg=SIGN_ALG,
    )
    return ours, dict(info["headers"])["Location"]


def _same_subject(message, subject: dict) -> bool:
    name_id = message.name_id
    if name_id is None or encode_name_id(name_id) != subject.get("name_id"):
        return False
    indexes = [index.text for index in message.session_index or []]
    # No SessionIndex in the request: every session of that person ends.
    return not indexes or subject.get("session_index") in indexes


def _success():
    return samlp.Status(status_code=samlp.StatusCode(value=samlp.STATUS_SUCCESS))


def relay_fields(form) -> dict:
    """The fields of the IdP's POST that the bounce page posts again (see views.saml_acs)."""
    return {
        "SAMLResponse": str(form.get("SAMLResponse", ""))[:200_000],
        "RelayState": str(form.get("RelayState", ""))[:200],
    }
