"""Keyed signatures over snapshots: what was signed is stored, and the program's key signs it.

At signing time the signer's record (its own fields: ids, texts, level ids, times) and the
labels they saw (competency code and title, framework, scale wording) are stored in
``Signature.snapshot``. The canonical JSON of that snapshot together with the signature's own
columns (who, printed name, meaning, when, what) is signed with the Ed25519 key of
:mod:`clerkship.signing_keys`, and every signature is appended to the hash-chained log.

A signature is valid when (1) the key verifies the payload, and (2) the record as it is now
still has exactly the fields in the snapshot. Labels are never compared with live tables, so
rewording a framework, a scale or a person's name never breaks a signature.

Every surface calls :func:`verify` (through the services' ``*_valid`` helpers);
``flask verify-records`` calls :func:`problem` through :func:`verify_stored`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from clerkship import signing_keys
from clerkship.clock import utcnow
from clerkship.extensions import db
from clerkship.integrity import chain
from clerkship.models import Signature, SignatureMeaning, User
from clerkship.signatures import canonical

SCHEME = 2

# subject_type -> a function giving the signed record's fields as they are now (None: gone).
_READERS: dict[str, Callable[[Signature], dict | None]] = {}


def reader(subject_type: str):
    """Register how to read a signed record's current fields, for the full check."""

    def register(function: Callable[[Signature], dict | None]):
        _READERS[subject_type] = function
        return function

    return register


def normalised(value: Any) -> Any:
    """``value`` as stored in JSON (dates as ISO text), so stored and live compare equal."""
    return json.loads(canonical(value))


def payload(signature: Signature) -> dict:
    """Exactly what the key signs: the snapshot and the signature's own columns.

    How the signer authenticated is signed too, but only when it was recorded: signatures
    made before it was kept have no such key, so their payload (and validity) is unchanged."""
    signed = {
        "scheme": signature.scheme,
        "kid": signature.key_id,
        "subject": [signature.subject_type, signature.subject_id],
        "signer": signature.signer_id,
        "printed_name": signature.printed_name,
        "meaning": SignatureMeaning(signature.meaning).value,
        "signed_at": signature.signed_at.isoformat(),
        "snapshot": signature.snapshot,
    }
    if signature.authentication is not None:
        signed["authentication"] = signature.authentication
    return signed


def payload_hash(signature: Signature) -> str:
    return hashlib.sha256(canonical(payload(signature))).hexdigest()


def seal(signature: Signature, record: dict, labels: dict) -> None:
    """Store the snapshot and sign it with the program's current key."""
    ring = signing_keys.ring()
    signature.scheme = SCHEME
    signature.snapshot = normalised({"record": record, "labels": labels})
    signature.key_id = ring.kid
    message = canonical(payload(signature))
    _, signature.value = ring.sign(message)
    signature.content_hash = hashlib.sha256(message).hexdigest()


def sign(
    signer: User,
    meaning: SignatureMeaning,
    subject: Any,
    record: dict,
    labels: dict | None = None,
    *,
    at: datetime | None = None,
    authentication: dict | None = None,
) -> Signature:
    """``signer`` signs ``record`` (what they saw: ``labels``); appended to the chain.
    ``authentication`` says how and when they proved who they were just before."""
    signature = Signature(
        signer_id=signer.id,
        printed_name=signer.name,
        meaning=meaning,
        # Whole seconds: the time is signed and must read back identically from any database.
        signed_at=(at or utcnow()).replace(microsecond=0),
        subject_type=subject.__tablename__,
        subject_id=subject.id,
        authentication=normalised(authentication) if authentication is not None else None,
    )
    seal(signature, record, labels or {})
    db.session.add(signature)
    db.session.flush()
    chain.append(signature, payload_hash(signature))
    return signature


def problem(signature: Signature, current: dict | None) -> str | None:
    """Why ``signature`` is not valid for the record as it is now (``current``), or None."""
    if signature.scheme != SCHEME or not isinstance(signature.snapshot, dict):
        return "not signed with the program key"
    try:
        message = canonical(payload(signature))
    except (TypeError, ValueError, AttributeError):
        return "signature fields unreadable"
    if not signing_keys.ring().verify(signature.key_id, signature.value, message):
        return "signature does not verify with the program's keys"
    if current is None:
        return "signed record deleted"
    if normalised(current) != signature.snapshot.get("record"):
        return "record changed after signing"
    return None


def verify(signature: Signature | None, current: dict | None) -> bool:
    """The one check every page, PDF and CSV makes before it shows a signature as valid."""
    return signature is not None and problem(signature, current) is None


def current_record(signature: Signature) -> dict | None:
    read = _READERS.get(signature.subject_type)
    return read(signature) if read else None


def verify_stored(signature: Signature) -> str | None:
    """:func:`problem` with the record read from the database (for the full check)."""
    return problem(signature, current_record(signature))


def labels_of(signature: Signature | None) -> dict:
    """The labels the signer saw (empty for an unsigned record)."""
    if signature is None or not isinstance(signature.snapshot, dict):
        return {}
    return signature.snapshot.get("labels") or {}
