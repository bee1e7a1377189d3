"""Assessment cycles: blind self and preceptor ratings, co-signature, addenda."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clerkship.models.base import Base, TimestampMixin, enum_column, utcnow
from clerkship.models.frameworks import Competency, EntrustmentLevel
from clerkship.models.users import User

if TYPE_CHECKING:  # names used only in annotations; importing them would be circular
    from clerkship.models.feedback import PatientFeedback
    from clerkship.models.goals import LearningGoal
    from clerkship.models.records import Reflection, Signature

# What a student drew on for a self-assessment: their goals, patient feedback and reflections.
self_assessment_goal = sa.Table(
    "self_assessment_goal",
    Base.metadata,
    sa.Column(
        "self_assessment_id",
        sa.ForeignKey("self_assessment.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("goal_id", sa.ForeignKey("learning_goal.id", ondelete="CASCADE"), primary_key=True),
)
self_assessment_feedback = sa.Table(
    "self_assessment_feedback",
    Base.metadata,
    sa.Column(
        "self_assessment_id",
        sa.ForeignKey("self_assessment.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "feedback_id", sa.ForeignKey("patient_feedback.id", ondelete="CASCADE"), primary_key=True
    ),
)
self_assessment_reflection = sa.Table(
    "self_assessment_reflection",
    Base.metadata,
    sa.Column(
        "self_assessment_id",
        sa.ForeignKey("self_assessment.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "reflection_id", sa.ForeignKey("reflection.id", ondelete="CASCADE"), primary_key=True
    ),
)


class CycleStatus(enum.StrEnum):
    OPEN = "open"  # waiting for one or both ratings
    REVEALED = "revealed"  # both rated; waiting for the student's reaction and plan
    AWAITING_SIGNATURE = "awaiting_signature"
    RETURNED = "returned"  # sent back to the student with a comment
    SIGNED = "signed"  # locked


class AssessmentCycle(TimestampMixin, Base):
    __tablename__ = "assessment_cycle"
    __table_args__ = (
        sa.CheckConstraint(
            "period_end IS NULL OR period_start IS NULL OR period_end >= period_start",
            name="period_ordered",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    preceptor_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    competency_id: Mapped[int] = mapped_column(sa.ForeignKey("competency.id"))
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    encounter: Mapped[str] = mapped_column(sa.String(300), default="")
    status: Mapped[CycleStatus] = mapped_column(
        enum_column(CycleStatus), default=CycleStatus.OPEN, index=True
    )
    return_comment: Mapped[str | None] = mapped_column(sa.Text)
    signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))
    # When the cycle entered its current status: the age shown in the waiting queues.
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version_id: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version_id}

    student: Mapped[User] = relationship(foreign_keys=[student_id])
    preceptor: Mapped[User] = relationship(foreign_keys=[preceptor_id])
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    competency: Mapped[Competency] = relationship()
    self_assessment: Mapped[SelfAssessment | None] = relationship(back_populates="cycle")
    preceptor_assessment: Mapped[PreceptorAssessment | None] = relationship(back_populates="cycle")
    signature: Mapped[Signature | None] = relationship()
    addenda: Mapped[list[AssessmentAddendum]] = relationship(
        back_populates="cycle", order_by="AssessmentAddendum.created_at"
    )
    plan_goals: Mapped[list[LearningGoal]] = relationship(
        back_populates="from_assessment", order_by="LearningGoal.id"
    )

    def ratings(self) -> tuple[EntrustmentLevel, EntrustmentLevel]:
        """(self, preceptor) levels of a cycle past the blind phase."""
        own, theirs = self.self_assessment, self.preceptor_assessment
        if own is None or theirs is None or own.level is None or theirs.level is None:
            raise LookupError(f"assessment cycle {self.id} is still blind")
        return own.level, theirs.level

    def rated(self) -> tuple[SelfAssessment, PreceptorAssessment]:
        """Both rating records of a cycle past the blind phase."""
        own, theirs = self.self_assessment, self.preceptor_assessment
        if own is None or theirs is None:
            raise LookupError(f"assessment cycle {self.id} is still blind")
        return own, theirs

    @property
    def both_submitted(self) -> bool:
        """The blind phase is over: both ratings are in and may be shown side by side."""
        return bool(
            self.self_assessment
            and self.self_assessment.submitted_at
            and self.preceptor_assessment
            and self.preceptor_assessment.submitted_at
        )


class SelfAssessment(TimestampMixin, Base):
    __tablename__ = "self_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_cycle.id"), unique=True)
    level_id: Mapped[int | None] = mapped_column(sa.ForeignKey("entrustment_level.id"))
    evidence: Mapped[str] = mapped_column(sa.Text, default="")
    interpretation: Mapped[str] = mapped_column(sa.Text, default="")
    reaction: Mapped[str] = mapped_column(sa.Text, default="")
    plan: Mapped[str] = mapped_column(sa.Text, default="")
    submitted_at: Mapped[datetime | None]

    cycle: Mapped[AssessmentCycle] = relationship(back_populates="self_assessment")
    level: Mapped[EntrustmentLevel | None] = relationship()
    goals: Mapped[list[LearningGoal]] = relationship(
        secondary=self_assessment_goal, order_by="LearningGoal.id"
    )
    feedback: Mapped[list[PatientFeedback]] = relationship(
        secondary=self_assessment_feedback, order_by="PatientFeedback.id"
    )
    reflections: Mapped[list[Reflection]] = relationship(
        secondary=self_assessment_reflection, order_by="Reflection.id"
    )


class PreceptorAssessment(TimestampMixin, Base):
    __tablename__ = "preceptor_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_cycle.id"), unique=True)
    assessor_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    level_id: Mapped[int | None] = mapped_column(sa.ForeignKey("entrustment_level.id"))
    went_well: Mapped[str] = mapped_column(sa.Text, default="")
    work_on: Mapped[str] = mapped_column(sa.Text, default="")
    submitted_at: Mapped[datetime | None]

    cycle: Mapped[AssessmentCycle] = relationship(back_populates="preceptor_assessment")
    assessor: Mapped[User] = relationship()
    level: Mapped[EntrustmentLevel | None] = relationship()


class AssessmentAddendum(TimestampMixin, Base):
    """A correction written after signing; signed itself, shown beneath the original."""

    __tablename__ = "assessment_addendum"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("assessment_cycle.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))

    cycle: Mapped[AssessmentCycle] = relationship(back_populates="addenda")
    author: Mapped[User] = relationship()
    signature: Mapped[Signature | None] = relationship()
