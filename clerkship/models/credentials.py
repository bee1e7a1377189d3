"""Issued credentials: one row per entrustment decision a credential was issued for.

The row gives the credential its stable id (a UUID) and its index in the instance's revocation
status list, so downloading twice gives the same credential and one index; a signed addendum
that withdraws the decision sets ``withdrawn_at`` and with it the status bit.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clerkship.models.assessments import AssessmentAddendum, AssessmentCycle
from clerkship.models.base import Base, utcnow
from clerkship.models.programs import Program
from clerkship.models.records import Signature


def _new_uuid() -> str:
    return str(uuid.uuid4())


class IssuedCredential(Base):
    __tablename__ = "issued_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_cycle.id"), unique=True)
    # The issuing program: its profile is the issuer, its status list carries the bit.
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("program.id"), index=True)
    # The credential's id (urn:uuid:...): random, so it says nothing about the student.
    uuid: Mapped[str] = mapped_column(sa.String(36), unique=True, default=_new_uuid)
    # Position in the revocation status list; never reused.
    status_index: Mapped[int] = mapped_column(unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_addendum_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("assessment_addendum.id")
    )
    # The preceptor's signature over the withdrawal (clerkship.signed_content).
    withdrawal_signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))

    cycle: Mapped[AssessmentCycle] = relationship()
    program: Mapped[Program] = relationship()
    withdrawn_by: Mapped[AssessmentAddendum | None] = relationship()
    withdrawal_signature: Mapped[Signature | None] = relationship()
