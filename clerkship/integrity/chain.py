"""The append-only, hash-chained log of signing events (after Certificate Transparency).

Each entry carries the SHA-256 of the signed payload and the hash of the entry before it;
its own hash covers both. Removing, editing or reordering any entry breaks the links after
it, and a signature without its entry (or an entry without its signature) shows up in the
full check (:mod:`clerkship.integrity.service`).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select, text

from clerkship.extensions import db
from clerkship.models import Signature, SignatureLogEntry
from clerkship.signatures import canonical

GENESIS = "0" * 64
# Any constant: the PostgreSQL advisory lock that makes appends to the chain one at a time.
_APPEND_LOCK = 0x13C4A1
# Newest first: the head of the chain.
HEAD = select(SignatureLogEntry).order_by(SignatureLogEntry.seq.desc()).limit(1)


def entry_hash(entry: SignatureLogEntry) -> str:
    return hashlib.sha256(
        canonical(
            {
                "seq": entry.seq,
                "signature": entry.signature_id,
                "kind": entry.kind,
                "subject": [entry.subject_type, entry.subject_id],
                "payload": entry.payload_hash,
                "prev": entry.prev_hash,
            }
        )
    ).hexdigest()


def head() -> SignatureLogEntry | None:
    return db.session.scalar(HEAD)


def append(signature: Signature, payload_hash: str) -> SignatureLogEntry:
    """Append ``signature`` to the chain, in the caller's transaction."""
    if db.session.get_bind().dialect.name == "postgresql":
        # Two signers at once must not both build on the same head (SQLite's BEGIN IMMEDIATE
        # already serialises writers).
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    last = head()
    entry = SignatureLogEntry(
        seq=(last.seq + 1) if last else 1,
        signature_id=signature.id,
        kind=signature.meaning.value,
        subject_type=signature.subject_type,
        subject_id=signature.subject_id,
        payload_hash=payload_hash,
        prev_hash=last.entry_hash if last else GENESIS,
    )
    entry.entry_hash = entry_hash(entry)
    db.session.add(entry)
    db.session.flush()
    return entry
