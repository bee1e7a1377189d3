"""VC-JWT (VC-JOSE-COSE): the credential JSON is the JWS payload, signed EdDSA (Ed25519) with
the instance's key ring. joserfc does the JOSE work; nothing here builds or checks a JWS by
hand.

The header follows Open Badges 3.0 (8.2.3): ``kid`` is a full URL that answers with the bare
public JWK (``/credentials/keys/<thumbprint>``, the RFC 7638 thumbprint the whole key ring is
published under at /.well-known/jwks.json), and ``jwk`` carries the same public key. Our own
check never trusts the ``jwk`` a credential brings: it takes the thumbprint at the end of
``kid`` and looks it up among the keys this instance publishes."""

from __future__ import annotations

import json
import warnings

from flask import current_app
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey
from joserfc.util import urlsafe_b64decode

from clerkship import signing_keys
from clerkship.signing_keys import _b64

ALGORITHMS = ["EdDSA"]
MEDIA_TYPE = "application/vc+jwt"


class Unreadable(ValueError):
    """Not a compact JWS carrying a JSON object."""


class UnknownKey(ValueError):
    """Signed with a key the published set does not hold."""


class BadSignature(ValueError):
    """The signature does not match the header and payload."""


def _quietly(call, *args, **kwargs):
    # joserfc marks "EdDSA" deprecated in favour of RFC 9864's "Ed25519"; verifiers of Open
    # Badges 3.0 and our JWKS still name EdDSA, so it stays, without the warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        return call(*args, **kwargs)


def _private_jwk() -> OKPKey:
    ring = signing_keys.ring()
    raw = ring.private.private_bytes_raw()
    public = ring.private.public_key().public_bytes_raw()
    return OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "d": _b64(raw), "x": _b64(public)})


KEY_PATH = "/credentials/keys/"


def key_url(thumbprint: str) -> str:
    """Where the public key named ``thumbprint`` answers as a bare JWK (the header's kid)."""
    return f"{current_app.config['BASE_URL']}{KEY_PATH}{thumbprint}"


def thumbprint_of(kid: object) -> str:
    """The key ring's name for the key a header names: the end of our key URL, or a bare
    thumbprint (as credentials issued before the URL form carried)."""
    return kid.rsplit("/", 1)[-1] if isinstance(kid, str) else ""


def public_jwk(thumbprint: str) -> dict | None:
    """The bare public JWK (kty, crv, x) of a current or retired key, or None."""
    for key in signing_keys.ring().jwks()["keys"]:
        if key.get("kid") == thumbprint:
            return {"kty": key["kty"], "crv": key["crv"], "x": key["x"]}
    return None


def sign(claims: dict) -> str:
    """The compact VC-JWT of ``claims`` (a credential with its registered JWT claims)."""
    kid = signing_keys.ring().kid
    header = {
        "alg": "EdDSA",
        "kid": key_url(kid),
        "jwk": public_jwk(kid),
        "typ": "vc+jwt",
        "cty": "vc",
    }
    payload = json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _quietly(jws.serialize_compact, header, payload, _private_jwk(), algorithms=ALGORITHMS)


def peek(token: str) -> tuple[dict, dict]:
    """Header and payload, unverified (to say what a refused credential claimed)."""
    parts = (token or "").strip().split(".")
    if len(parts) != 3:
        raise Unreadable("not a compact JWS (three dot-separated parts)")
    try:
        header = json.loads(urlsafe_b64decode(parts[0].encode("ascii")))
        payload = json.loads(urlsafe_b64decode(parts[1].encode("ascii")))
    except (ValueError, UnicodeError) as problem:
        raise Unreadable(str(problem)) from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise Unreadable("the header or payload is not a JSON object")
    return header, payload


def read(token: str, jwks: dict) -> tuple[dict, dict]:
    """Verify ``token`` against the key set; (header, payload) or one of the errors above."""
    header, _payload = peek(token)
    if header.get("alg") not in ALGORITHMS:
        raise BadSignature(f"algorithm {header.get('alg')!r} is not accepted")
    try:
        keys = KeySet.import_key_set(
            {"keys": [k for k in jwks.get("keys", []) if k.get("kty") == "OKP"]}
        )
    except (JoseError, ValueError, TypeError) as problem:
        raise Unreadable(f"the key set cannot be read: {problem}") from None
    named = [k for k in keys.keys if k.kid == thumbprint_of(header.get("kid"))]
    for key in named:
        try:
            result = _quietly(jws.deserialize_compact, token.strip(), key, algorithms=ALGORITHMS)
        except (JoseError, ValueError):
            continue
        return header, json.loads(result.payload)
    # Not the named key: signed by another published key (kid swapped) or by none of them.
    for key in keys.keys:
        try:
            _quietly(jws.deserialize_compact, token.strip(), key, algorithms=ALGORITHMS)
        except (JoseError, ValueError):
            continue
        raise BadSignature("the key id in the header was changed")
    if not named:
        raise UnknownKey(header.get("kid") or "")
    raise BadSignature("the signature does not match")
