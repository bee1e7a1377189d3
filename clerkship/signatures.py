"""Electronic signatures: a canonical serialisation of what was signed, and its SHA-256.

The hash is computed over a canonical JSON document (sorted keys, no insignificant
whitespace, UTF-8), so the same content always gives the same hash and any change to the
stored content — by the application or directly in the database — gives a different one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from clerkship.extensions import db
from clerkship.models import Signature, SignatureMeaning, User, utcnow


def _default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot sign a {type(value).__name__}")


def canonical(content: dict) -> bytes:
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    ).encode("utf-8")


def content_hash(content: dict) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


def sign(signer: User, meaning: SignatureMeaning, subject: Any, content: dict) -> Signature:
    """Record ``signer``'s signature over ``content`` (the caller decides what that is)."""
    signature = Signature(
        signer_id=signer.id,
        printed_name=signer.name,
        meaning=meaning,
        signed_at=utcnow(),
        subject_type=subject.__tablename__,
        subject_id=subject.id,
        content_hash=content_hash(content),
    )
    db.session.add(signature)
    return signature


def matches(signature: Signature, content: dict) -> bool:
    """Does ``content`` (recomputed from the stored record) still match what was signed?"""
    return signature.content_hash == content_hash(content)
