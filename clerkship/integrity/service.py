"""The full check: every signature against the keys and its record, and the whole chain.

Run by ``flask verify-records`` and from the integrity page; each run is stored, so the page
can show the last full check and the next run can tell whether entries were cut off the end
of the chain since then.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value

from clerkship import signed_content
from clerkship.extensions import db
from clerkship.integrity import chain
from clerkship.models import AssessmentCycle, IntegrityCheck, Signature, SignatureLogEntry


def _label(subject_type: str, subject_id: int, signature_id: int) -> str:
    return f"{subject_type} {subject_id} (signature {signature_id})"


def _chain_problems(entries: list[SignatureLogEntry]) -> list[str]:
    problems = []
    expected_seq, prev = 1, chain.GENESIS
    for entry in entries:
        if entry.seq != expected_seq:
            problems.append(f"chain entries {expected_seq} to {entry.seq - 1} are missing")
        if entry.prev_hash != prev:
            problems.append(
                f"chain entry {entry.seq} does not follow the entry before it"
                " (an entry was deleted, edited or reordered)"
            )
        if chain.entry_hash(entry) != entry.entry_hash:
            problems.append(f"chain entry {entry.seq} was altered")
        expected_seq, prev = entry.seq + 1, entry.entry_hash
    previous = last_check()
    if previous is not None and previous.head_seq is not None:
        kept = next((e for e in entries if e.seq == previous.head_seq), None)
        if kept is None or kept.entry_hash != previous.head_hash:
            problems.append(
                f"chain entry {previous.head_seq}, the head at the last check, is gone or changed"
            )
    return problems


def full_check() -> IntegrityCheck:
    """Check everything, store the result (committed by the caller) and return it."""
    entries = list(db.session.scalars(select(SignatureLogEntry).order_by(SignatureLogEntry.seq)))
    problems = _chain_problems(entries)
    logged = {entry.signature_id: entry for entry in entries}
    count = 0
    for signature in db.session.scalars(select(Signature).order_by(Signature.id)):
        count += 1
        label = _label(signature.subject_type, signature.subject_id, signature.id)
        problem = signed_content.verify_stored(signature)
        if problem:
            problems.append(f"{label}: {problem}")
        entry = logged.pop(signature.id, None)
        if entry is None:
            problems.append(f"{label}: missing from the chain")
        elif entry.payload_hash != signed_content.payload_hash(signature):
            problems.append(f"{label}: differs from what chain entry {entry.seq} recorded")
    for signature_id, entry in logged.items():
        label = _label(entry.subject_type, entry.subject_id, signature_id)
        problems.append(f"{label}: signature deleted (chain entry {entry.seq})")
    last = entries[-1] if entries else None
    check = IntegrityCheck(
        ok=not problems,
        signatures=count,
        head_seq=last.seq if last else None,
        head_hash=last.entry_hash if last else None,
        problems=problems,
    )
    db.session.add(check)
    db.session.flush()
    return check


def last_check() -> IntegrityCheck | None:
    return db.session.scalar(select(IntegrityCheck).order_by(IntegrityCheck.id.desc()).limit(1))


def resign_existing() -> int:
    """Upgrade every signature not yet made with the key (the migration to scheme 2).

    The snapshot is taken from the record as it stands; signatures are re-signed and chained
    in the order they were made, so an addendum covers its original's new fingerprint.
    """
    from clerkship.assessments import service as assessments

    upgraded = 0
    # This runs inside the scheme-2 migration, before later columns exist: they are left out
    # of the query, and a scheme-1 signature never recorded how its signer authenticated.
    pending = (
        select(Signature)
        .options(defer(Signature.authentication))
        .where(Signature.scheme != signed_content.SCHEME)
    )
    for signature in db.session.scalars(pending.order_by(Signature.id)).all():
        set_committed_value(signature, "authentication", None)
        record = signed_content.current_record(signature)
        if record is None:
            continue  # its record is gone already: left unsigned, reported by the check
        labels = {}
        if signature.subject_type == AssessmentCycle.__tablename__:
            cycle = db.session.get(AssessmentCycle, signature.subject_id)
            labels = assessments.cosigned_labels(cycle) if cycle else {}
        signed_content.seal(signature, record, labels)
        db.session.flush()
        chain.append(signature, signed_content.payload_hash(signature))
        upgraded += 1
    return upgraded


def reseal_backdated() -> int:
    """The demo year only: sign again the signatures it back-dated, and relink the chain.

    The demo builds a year of history in a minute, then moves each signature's time into the
    past; that (rightly) breaks the signature. Real signing never calls this: it rewrites the
    chain from the first back-dated entry on.
    """
    db.session.flush()
    entries = list(db.session.scalars(select(SignatureLogEntry).order_by(SignatureLogEntry.seq)))
    resealed, prev, relinking = 0, chain.GENESIS, False
    for entry in entries:
        signature = db.session.get(Signature, entry.signature_id)
        if signature is not None and signed_content.payload_hash(signature) != entry.payload_hash:
            snapshot = signature.snapshot or {}
            signed_content.seal(signature, snapshot.get("record", {}), snapshot.get("labels", {}))
            entry.payload_hash = signed_content.payload_hash(signature)
            resealed += 1
            relinking = True
        if relinking:
            entry.prev_hash = prev
            entry.entry_hash = chain.entry_hash(entry)
        prev = entry.entry_hash
    db.session.flush()
    return resealed
