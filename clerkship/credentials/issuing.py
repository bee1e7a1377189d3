"""Issued-credential rows: made once per decision (a second download finds the same row, so
the same credential id and status index), and marked withdrawn by a signed addendum."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from clerkship import audit, signed_content
from clerkship.clock import utcnow
from clerkship.extensions import db
from clerkship.models import (
    AssessmentAddendum,
    AssessmentCycle,
    IssuedCredential,
    Program,
    Signature,
    SignatureMeaning,
    User,
)


def _existing(cycle: AssessmentCycle) -> IssuedCredential | None:
    return db.session.scalar(select(IssuedCredential).where(IssuedCredential.cycle_id == cycle.id))


def _next_index() -> int:
    highest = db.session.scalar(select(func.max(IssuedCredential.status_index)))
    return 0 if highest is None else highest + 1


def issued_for(
    cycle: AssessmentCycle, program: Program, actor: User | None = None
) -> IssuedCredential:
    """The cycle's row, made on first use. Two requests at once: one insert wins the unique
    constraints (cycle, index), the other reads the winner's row (or takes the next index)."""
    for _attempt in range(5):
        found = _existing(cycle)
        if found is not None:
            return found
        row = IssuedCredential(
            cycle_id=cycle.id,
            program_id=program.id,
            status_index=_next_index(),
            issued_at=utcnow(),
        )
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:
            continue
        if actor is not None:
            audit.record(actor, "credential.issued", cycle, after={"credential": row.uuid})
        return row
    raise RuntimeError(f"could not allocate a status index for assessment cycle {cycle.id}")


def withdraw(
    cycle: AssessmentCycle, program: Program, addendum: AssessmentAddendum, actor: User
) -> None:
    """The addendum withdraws the decision: its status bit is set from now on (a row is made
    if none was downloaded yet, so a later download is refused rather than issued)."""
    row = issued_for(cycle, program)
    if row.withdrawn_at is None:
        row.withdrawn_at = utcnow().replace(microsecond=0)
        row.withdrawn_by_addendum_id = addendum.id
        db.session.flush()
        signature = signed_content.sign(
            actor, SignatureMeaning.WITHDREW_DECISION, row, withdrawal_record(row)
        )
        row.withdrawal_signature_id = signature.id
        db.session.flush()
        audit.record(
            actor,
            "credential.withdrawn",
            cycle,
            after={"credential": row.uuid, "addendum": addendum.id, "index": row.status_index},
        )


def withdrawal_record(row: IssuedCredential) -> dict:
    """What the withdrawing preceptor signs: which credential, by which addendum, when."""
    return {
        "credential": row.uuid,
        "cycle": row.cycle_id,
        "status_index": row.status_index,
        "addendum": row.withdrawn_by_addendum_id,
        "withdrawn_at": row.withdrawn_at,
    }


@signed_content.reader(IssuedCredential.__tablename__)
def _signed_withdrawal(signature: Signature) -> dict | None:
    row = db.session.get(IssuedCredential, signature.subject_id)
    if row is None or row.withdrawal_signature_id != signature.id:
        return None
    return withdrawal_record(row)


def revoked_indexes(program: Program) -> list[int]:
    return list(
        db.session.scalars(
            select(IssuedCredential.status_index).where(
                IssuedCredential.program_id == program.id,
                IssuedCredential.withdrawn_at.is_not(None),
            )
        )
    )


def has_issued(program: Program) -> bool:
    return (
        db.session.scalar(
            select(IssuedCredential.id).where(IssuedCredential.program_id == program.id).limit(1)
        )
        is not None
    )


def highest_index() -> int:
    return db.session.scalar(select(func.max(IssuedCredential.status_index))) or 0


def by_uuid(credential_uuid: str) -> IssuedCredential | None:
    return db.session.scalar(
        select(IssuedCredential).where(IssuedCredential.uuid == credential_uuid[:36])
    )
