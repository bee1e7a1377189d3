"""Continuity patients' feedback: instruments, invitations and answers."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clerkship.models.base import Base, TimestampMixin, enum_column
from clerkship.models.users import Role, User, shown_name

if TYPE_CHECKING:  # names used only in annotations; importing them would be circular
    from clerkship.models.goals import LearningGoal


class FeedbackInstrument(TimestampMixin, Base):
    """A versioned questionnaire. Texts are per language: ``{"en": "...", "es": "..."}``."""

    __tablename__ = "feedback_instrument"
    __table_args__ = (sa.UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(50))
    version: Mapped[int] = mapped_column(default=1)
    name: Mapped[dict] = mapped_column(sa.JSON)
    # Ordered answer options, lowest first: [{"value": 1, "label": {"en": ..., "es": ...}}, ...]
    scale: Mapped[list] = mapped_column(sa.JSON)
    source: Mapped[str] = mapped_column(sa.String(300), default="")

    items: Mapped[list[FeedbackItem]] = relationship(
        back_populates="instrument", order_by="FeedbackItem.position", cascade="all, delete-orphan"
    )

    def text(self, field: dict, language: str) -> str:
        return field.get(language) or field.get("en") or next(iter(field.values()), "")


class FeedbackItem(Base):
    __tablename__ = "feedback_item"
    __table_args__ = (sa.UniqueConstraint("instrument_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback_instrument.id"))
    key: Mapped[str] = mapped_column(sa.String(50))
    position: Mapped[int] = mapped_column(default=0)
    prompt: Mapped[dict] = mapped_column(sa.JSON)

    instrument: Mapped[FeedbackInstrument] = relationship(back_populates="items")


class InvitationPurpose(enum.StrEnum):
    FEEDBACK = "feedback"
    GOAL_INPUT = "goal_input"


class PatientInvitation(TimestampMixin, Base):
    """A single-use link for a patient. Only a hash of the token is stored."""

    __tablename__ = "patient_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    purpose: Mapped[InvitationPurpose] = mapped_column(enum_column(InvitationPurpose))
    goal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("learning_goal.id"))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]  # the patient took their answers back
    # Patient pages opened from this link before this time are closed ("I am done" or a
    # withdrawal): a copied cookie cannot come back. Opening the link again still works.
    sessions_ended_at: Mapped[datetime | None]
    # The language the patient last chose on the link's pages; reopening the link keeps it.
    language: Mapped[str | None] = mapped_column(sa.String(8))

    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    student: Mapped[User] = relationship(foreign_keys=[student_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    goal: Mapped[LearningGoal | None] = relationship()
    feedback: Mapped[PatientFeedback | None] = relationship(back_populates="invitation")


class PatientFeedback(TimestampMixin, Base):
    __tablename__ = "patient_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback_instrument.id"))
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("patient_invitation.id"), unique=True
    )
    language: Mapped[str] = mapped_column(sa.String(8), default="en")
    show_name: Mapped[bool] = mapped_column(default=False)
    # The patient agreed that their written words may be quoted in the student's portfolio.
    allow_quotes: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    anything_else: Mapped[str] = mapped_column(sa.Text, default="")
    hope_next: Mapped[str] = mapped_column(sa.Text, default="")

    instrument: Mapped[FeedbackInstrument] = relationship()
    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    student: Mapped[User] = relationship(foreign_keys=[student_id])
    invitation: Mapped[PatientInvitation | None] = relationship(back_populates="feedback")
    answers: Mapped[list[FeedbackAnswer]] = relationship(
        back_populates="feedback", cascade="all, delete-orphan"
    )

    @property
    def shown_name(self) -> str | None:
        return shown_name(self.patient, Role.PATIENT, self.show_name)


class FeedbackAnswer(Base):
    __tablename__ = "feedback_answer"
    __table_args__ = (sa.UniqueConstraint("feedback_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(
        sa.ForeignKey("patient_feedback.id", ondelete="CASCADE")
    )
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback_item.id"))
    value: Mapped[int | None]  # None: "does not apply"

    feedback: Mapped[PatientFeedback] = relationship(back_populates="answers")
    item: Mapped[FeedbackItem] = relationship()
