"""The one answer to "is this signed assessment an entrustment decision?".

A cycle is one when both ratings are in, the preceptor co-signed it, the co-signature is
valid for the record as it is now (the same check every page makes), the preceptor's level is
on the program's scale at or above the level the program marks as an entrustment decision,
and no signed addendum has withdrawn it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clerkship.directory.queries import latest_program_of
from clerkship.extensions import db
from clerkship.models import AssessmentCycle, CycleStatus, IssuedCredential, Program, User


def threshold_level(program: Program | None):
    """The program's marked level (an EntrustmentLevel), or None when it issues nothing."""
    if program is None or program.entrustment_value is None or program.scale is None:
        return None
    return next(
        (lvl for lvl in program.scale.levels if lvl.value == program.entrustment_value), None
    )


def signed_level(cycle: AssessmentCycle) -> tuple[str, datetime]:
    """The preceptor's level (its wording) and when it was co-signed, of a decision."""
    if cycle.signature is None:
        raise LookupError(f"assessment cycle {cycle.id} is not signed")
    return cycle.ratings()[1].label, cycle.signature.signed_at


def withdrawn(cycle: AssessmentCycle) -> bool:
    return (
        db.session.scalar(
            select(IssuedCredential.id).where(
                IssuedCredential.cycle_id == cycle.id, IssuedCredential.withdrawn_at.is_not(None)
            )
        )
        is not None
    )


def reaches_level(cycle: AssessmentCycle, program: Program | None) -> bool:
    """Signed, validly, at or above the program's marked level (withdrawal aside)."""
    from clerkship.assessments.service import signature_valid

    marked = threshold_level(program)
    theirs = cycle.preceptor_assessment
    if marked is None or cycle.status is not CycleStatus.SIGNED or not cycle.both_submitted:
        return False
    if theirs is None or theirs.level is None or theirs.level.scale_id != marked.scale_id:
        return False
    return theirs.level.value >= marked.value and signature_valid(cycle) is True


def is_entrustment_decision(cycle: AssessmentCycle, program: Program | None = None) -> bool:
    program = program if program is not None else latest_program_of(cycle.student_id)
    return reaches_level(cycle, program) and not withdrawn(cycle)


def signed_cycles(student: User) -> list[AssessmentCycle]:
    return list(
        db.session.scalars(
            select(AssessmentCycle)
            .where(
                AssessmentCycle.student_id == student.id,
                AssessmentCycle.status == CycleStatus.SIGNED,
            )
            .options(
                selectinload(AssessmentCycle.preceptor_assessment),
                selectinload(AssessmentCycle.self_assessment),
                selectinload(AssessmentCycle.competency),
                selectinload(AssessmentCycle.signature),
            )
            .order_by(AssessmentCycle.id)
        )
    )


def decisions_of(student: User) -> list[tuple[AssessmentCycle, bool]]:
    """The student's cycles that reached the marked level, each with "withdrawn since"."""
    program = latest_program_of(student.id)
    if threshold_level(program) is None:
        return []
    return [(c, withdrawn(c)) for c in signed_cycles(student) if reaches_level(c, program)]
