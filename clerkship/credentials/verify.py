"""The one offline verification of a VC-JWT credential, used by the page and by
``flask verify-credential``: the signature against published keys (a JWKS), the validity
dates, whether the issuer issued it as it reads (a check the caller supplies: see
``provenance``), and the revocation bit in a status list the caller supplies (verified the
same way), for the credential itself and for each credential a CLR holds."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from clerkship.credentials import documents, vcjwt

VALID, TAMPERED, WRONG_KEY, REVOKED, EXPIRED, NOT_YET, UNREADABLE, STATUS_UNKNOWN = (
    "valid",
    "tampered",
    "wrong key",
    "revoked",
    "expired",
    "not yet valid",
    "unreadable",
    "status unknown",
)
NOT_ISSUED, NOT_AS_ISSUED, KEY_RETIRED = "not issued", "not as issued", "key retired"

SENTENCES = {
    VALID: _l("Valid: signed with the issuer's published key, unchanged, and not revoked."),
    TAMPERED: _l(
        "Tampered: the signature does not match. The credential was changed after it was "
        "issued, or signed with a key other than the one it names."
    ),
    WRONG_KEY: _l("Wrong key: it was signed with a key this issuer does not publish."),
    REVOKED: _l("Revoked: the issuer has withdrawn this entrustment decision."),
    EXPIRED: _l("Expired: its validity period has ended."),
    NOT_YET: _l("Not yet valid: its validity period has not started."),
    UNREADABLE: _l("Unreadable: this is not a signed credential (a VC-JWT)."),
    STATUS_UNKNOWN: _l(
        "The signature is good, but its revocation status list could not be checked."
    ),
    NOT_ISSUED: _l("Not issued here: the issuer has no record of a credential with this id."),
    NOT_AS_ISSUED: _l(
        "Not as issued: the issuer issued a credential with this id, but not with these contents."
    ),
    KEY_RETIRED: _l(
        "Key retired: it was signed with a key the issuer had retired before this credential "
        "was issued."
    ),
}

# A record (CLR) whose own status is fine but that holds a withdrawn decision.
HELD_REVOKED = _l("Revoked: the issuer has withdrawn an entrustment decision this record holds.")

LABELS = {
    VALID: _l("Valid"),
    TAMPERED: _l("Tampered"),
    WRONG_KEY: _l("Wrong key"),
    # Its own context: the invitation page's "Revoked" is masculine in Spanish; a credential
    # ("la credencial") is feminine, as the other verdicts here.
    REVOKED: lazy_pgettext("credential verdict", "Revoked"),
    EXPIRED: _l("Expired"),
    NOT_YET: _l("Not yet valid"),
    UNREADABLE: _l("Unreadable"),
    STATUS_UNKNOWN: _l("Status unknown"),
    NOT_ISSUED: _l("Not issued here"),
    NOT_AS_ISSUED: _l("Not as issued"),
    KEY_RETIRED: _l("Key retired"),
}

# url -> the status list credential's JWT (None: not available)
StatusSource = Callable[[str], str | None]
# (header, credential) of a verified credential -> (state, detail) if the issuer did not issue
# it as it reads, else None
IssuedCheck = Callable[[dict, dict], tuple[str, str] | None]


@dataclass
class Verdict:
    state: str
    detail: str = ""
    credential: dict = field(default_factory=dict)
    held: bool = False  # the verdict comes from a credential the record holds

    @property
    def ok(self) -> bool:
        return self.state == VALID

    @property
    def valid_from(self) -> datetime | None:
        return _moment(self.credential.get("validFrom"))

    @property
    def label(self) -> str:
        return str(LABELS[self.state])

    @property
    def sentence(self) -> str:
        if self.state == REVOKED and self.held:
            return str(HELD_REVOKED)
        return str(SENTENCES[self.state])


def _moment(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _claims_agree(payload: dict) -> str | None:
    """The JWT claims must say what the credential says (a signed mismatch is not ours)."""
    issuer = payload.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if payload.get("iss") != issuer_id:
        return "iss differs from issuer.id"
    if payload.get("jti") != payload.get("id"):
        return "jti differs from id"
    return None


def _revoked(payload: dict, jwks: dict, status_source: StatusSource) -> bool | None:
    entry = payload.get("credentialStatus")
    if entry is None:
        return False
    if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
        return None
    url = entry.get("statusListCredential")
    token = status_source(url) if isinstance(url, str) else None
    if token is None:
        return None
    try:
        _header, status_list = vcjwt.read(token, jwks)
        subject = status_list["credentialSubject"]
        if status_list.get("id") != url or subject.get("statusPurpose") != "revocation":
            return None
        return documents.bit_is_set(subject["encodedList"], int(entry["statusListIndex"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _held_revoked(payload: dict, jwks: dict, status_source: StatusSource) -> bool | None:
    """A CLR has no status of its own: each credential it holds keeps its own, so a record
    holding a withdrawn decision must not verify as valid. None: one could not be checked."""
    subject = payload.get("credentialSubject")
    held = subject.get("verifiableCredential") if isinstance(subject, dict) else None
    if held is None:
        return False
    if not isinstance(held, list) or not all(isinstance(c, dict) for c in held):
        return None
    once = cache(status_source)  # one list for many held credentials: fetched once
    answers = [_revoked(credential, jwks, once) for credential in held]
    if any(answers):
        return True  # withdrawn, even if another one's status could not be read
    return None if None in answers else False


def verify(
    token: str,
    jwks: dict,
    status_source: StatusSource,
    now: datetime | None = None,
    *,
    issued: IssuedCheck,
) -> Verdict:
    now = now or datetime.now(UTC)
    try:
        _header, claimed = vcjwt.peek(token)
    except vcjwt.Unreadable as problem:
        return Verdict(UNREADABLE, str(problem))
    try:
        header, payload = vcjwt.read(token, jwks)
    except vcjwt.UnknownKey as problem:
        return Verdict(WRONG_KEY, f"key id {problem}", claimed)
    except vcjwt.BadSignature as problem:
        return Verdict(TAMPERED, str(problem), claimed)
    except (vcjwt.Unreadable, json.JSONDecodeError) as problem:
        return Verdict(UNREADABLE, str(problem), claimed)
    mismatch = _claims_agree(payload)
    if mismatch:
        return Verdict(TAMPERED, mismatch, payload)
    starts, ends = _moment(payload.get("validFrom")), _moment(payload.get("validUntil"))
    if starts is None:
        return Verdict(UNREADABLE, "no validFrom", payload)
    if starts > now:
        return Verdict(NOT_YET, payload["validFrom"], payload)
    if ends is not None and ends <= now:
        return Verdict(EXPIRED, payload["validUntil"], payload)
    refusal = issued(header, payload)
    if refusal is not None:
        return Verdict(refusal[0], refusal[1], payload)
    revoked = _revoked(payload, jwks, status_source)
    if revoked is None:
        return Verdict(STATUS_UNKNOWN, "", payload)
    if revoked:
        return Verdict(REVOKED, "", payload)
    held_revoked = _held_revoked(payload, jwks, status_source)
    if held_revoked is None:
        return Verdict(STATUS_UNKNOWN, "a credential it holds", payload)
    if held_revoked:
        return Verdict(REVOKED, "a credential it holds", payload, held=True)
    return Verdict(VALID, "", payload)
