"""Signatures, reflections, export jobs and the audit log."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clerkship.models.base import Base, TimestampMixin, enum_column, utcnow
from clerkship.models.users import User

if TYPE_CHECKING:  # names used only in annotations; importing them would be circular
    from clerkship.models.goals import LearningGoal


class SignatureMeaning(enum.StrEnum):
    AGREED_GOAL = "agreed_goal"
    REVIEWED_AND_AGREED = "reviewed_and_agreed"
    COSIGNED_SUPERVISOR = "cosigned_supervisor"
    ADDENDUM = "addendum"
    # The preceptor withdrew an entrustment decision (with an addendum): its credential is
    # revoked. Signed, so that un-revoking it in the database shows in the integrity check.
    WITHDREW_DECISION = "withdrew_decision"


class Signature(Base):
    """Who signed what, meaning what, when, over a snapshot of exactly what they saw.

    Scheme 2 (clerkship/signed_content.py): ``snapshot`` is stored at signing time and an
    Ed25519 signature (``key_id``, ``value``) covers it together with the columns above it;
    ``content_hash`` is the SHA-256 of that signed payload. Scheme 1 rows (a bare SHA-256,
    forgeable) exist only before the migration that re-signs them.
    """

    __tablename__ = "signature"

    id: Mapped[int] = mapped_column(primary_key=True)
    signer_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    printed_name: Mapped[str] = mapped_column(sa.String(200))
    meaning: Mapped[SignatureMeaning] = mapped_column(enum_column(SignatureMeaning))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    subject_type: Mapped[str] = mapped_column(sa.String(50))
    subject_id: Mapped[int]
    hash_algorithm: Mapped[str] = mapped_column(sa.String(20), default="sha256")
    content_hash: Mapped[str] = mapped_column(sa.String(128))
    scheme: Mapped[int] = mapped_column(default=1, server_default="1")
    snapshot: Mapped[dict | None] = mapped_column(sa.JSON)
    key_id: Mapped[str | None] = mapped_column(sa.String(64))
    value: Mapped[str | None] = mapped_column(sa.String(128))
    # How and when the signer proved who they were just before signing ({"method": "password"
    # | "oidc" | "saml", "at": ISO time, "issuer": ...}). Signed with the columns above when
    # present; older signatures have none and their signed payload is unchanged.
    authentication: Mapped[dict | None] = mapped_column(sa.JSON)

    signer: Mapped[User] = relationship()


class SignatureLogEntry(Base):
    """One signing event in the append-only, hash-chained log (never updated or deleted).

    ``entry_hash`` covers the entry's own fields and ``prev_hash``, so deleting, editing or
    reordering an entry breaks every link after it. ``signature_id`` has no foreign key on
    purpose: a deleted signature must leave its entry behind as evidence.
    """

    __tablename__ = "signature_log"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    signature_id: Mapped[int] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    subject_type: Mapped[str] = mapped_column(sa.String(50))
    subject_id: Mapped[int]
    payload_hash: Mapped[str] = mapped_column(sa.String(64))
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    entry_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IntegrityCheck(Base):
    """The result of one full check of every signature and the chain (`verify-records`)."""

    __tablename__ = "integrity_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool]
    signatures: Mapped[int]
    head_seq: Mapped[int | None]
    head_hash: Mapped[str | None] = mapped_column(sa.String(64))
    problems: Mapped[list] = mapped_column(sa.JSON, default=list)


reflection_goal = sa.Table(
    "reflection_goal",
    Base.metadata,
    sa.Column(
        "reflection_id", sa.ForeignKey("reflection.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("goal_id", sa.ForeignKey("learning_goal.id", ondelete="CASCADE"), primary_key=True),
)


class Reflection(TimestampMixin, Base):
    __tablename__ = "reflection"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    in_portfolio: Mapped[bool] = mapped_column(default=False)
    feedback_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patient_feedback.id"))
    cycle_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assessment_cycle.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version_id: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version_id}

    student: Mapped[User] = relationship()
    goals: Mapped[list[LearningGoal]] = relationship(secondary=reflection_goal)


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExportJob(TimestampMixin, Base):
    __tablename__ = "export_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("program.id"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cohort.id"))
    student_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    status: Mapped[ExportStatus] = mapped_column(
        enum_column(ExportStatus), default=ExportStatus.QUEUED
    )
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    result_path: Mapped[str | None] = mapped_column(sa.String(500))
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Queued: when the reaper queues it again if no worker took it. Running: who packs the
    # result, and until when (a packer that dies loses its lease; see portfolios/jobs.py).
    lease_owner: Mapped[str | None] = mapped_column(sa.String(80))
    lease_until: Mapped[datetime | None]

    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    documents: Mapped[list[ExportDocument]] = relationship(
        back_populates="job", order_by="ExportDocument.id"
    )


class ExportDocument(TimestampMixin, Base):
    """One issued portfolio PDF: what ``/verify`` answers for, and the render cache."""

    __tablename__ = "export_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("export_job.id"), index=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    status: Mapped[ExportStatus] = mapped_column(
        enum_column(ExportStatus), default=ExportStatus.QUEUED
    )
    # sha256 of the canonical portfolio data + template version: same key, same PDF.
    cache_key: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # The records token and keys it was made under (portfolios.jobs.records_stamp): a later
    # export of the student under the same stamp reuses it without reading the portfolio.
    records_stamp: Mapped[str | None] = mapped_column(sa.String(64))
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))  # printed in the footer
    file_hash: Mapped[str | None] = mapped_column(sa.String(64))
    pages: Mapped[int | None]
    path: Mapped[str | None] = mapped_column(sa.String(500))
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    issued_at: Mapped[datetime | None]
    # Queued: when the reaper queues it again. Running: the worker rendering it, until when.
    lease_owner: Mapped[str | None] = mapped_column(sa.String(80))
    lease_until: Mapped[datetime | None] = mapped_column(index=True)
    # A cache hit: the PDF rendered earlier for the same content is handed out again.
    reused_id: Mapped[int | None] = mapped_column(sa.ForeignKey("export_document.id"))

    job: Mapped[ExportJob | None] = relationship(back_populates="documents")
    reused: Mapped[ExportDocument | None] = relationship(remote_side=[id])
    student: Mapped[User] = relationship()


class DigestSent(Base):
    """One row per person per program day a digest went out: the unique key makes a second
    digest that day impossible, however many workers or machines try at once."""

    __tablename__ = "digest_sent"
    __table_args__ = (sa.UniqueConstraint("user_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    program_id: Mapped[int | None] = mapped_column(sa.ForeignKey("program.id"))
    day: Mapped[date]  # the day in the program's time zone (UTC without a program)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Append-only: who did what to which record, with the before and after."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(80), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(50))
    object_id: Mapped[int | None]
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    # Whose education record the event is about (the goal's, the assessment's… student), so
    # the audit viewer can answer "who saw this student's records" and scope it by program.
    student_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    student: Mapped[User | None] = relationship(foreign_keys=[student_id])

    __table_args__ = (sa.Index("ix_audit_event_object", "object_type", "object_id"),)


class SubmittedForm(Base):
    """A create form that was sent once: its token, and where its result is.

    The same token again (a double click, a resend after a timeout, Back and send) lands on
    the first submission's result instead of creating a second record (clerkship.submissions).
    """

    __tablename__ = "submitted_form"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(sa.String(100))
    result_url: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
