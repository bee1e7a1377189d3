"""Learning goals: versions, sharing and the attributed thread of contributions."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clerkship.models.base import Base, TimestampMixin, enum_column, utcnow
from clerkship.models.frameworks import Competency
from clerkship.models.users import Role, User, shown_name

if TYPE_CHECKING:  # names used only in annotations; importing them would be circular
    from clerkship.models.assessments import AssessmentCycle
    from clerkship.models.records import Signature

goal_competency = sa.Table(
    "goal_competency",
    Base.metadata,
    sa.Column("goal_id", sa.ForeignKey("learning_goal.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("competency_id", sa.ForeignKey("competency.id"), primary_key=True),
)


class GoalStatus(enum.StrEnum):
    DRAFT = "draft"
    SHARED = "shared"
    AGREED = "agreed"
    ACHIEVED = "achieved"
    REVISED = "revised"
    DROPPED = "dropped"


class LearningGoal(TimestampMixin, Base):
    __tablename__ = "learning_goal"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    status: Mapped[GoalStatus] = mapped_column(
        enum_column(GoalStatus), default=GoalStatus.DRAFT, index=True
    )
    current_version: Mapped[int] = mapped_column(default=1)
    closing_reflection: Mapped[str | None] = mapped_column(sa.Text)
    closed_at: Mapped[datetime | None]
    # A goal made from the plan of an assessment cycle (the cycle lists it in plan_goals).
    from_assessment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("assessment_cycle.id"), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version_id: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version_id}

    student: Mapped[User] = relationship()
    from_assessment: Mapped[AssessmentCycle | None] = relationship(back_populates="plan_goals")
    competencies: Mapped[list[Competency]] = relationship(
        secondary=goal_competency,
        order_by="[Competency.framework_id, Competency.position]",
    )
    versions: Mapped[list[GoalVersion]] = relationship(
        back_populates="goal", order_by="GoalVersion.number", cascade="all, delete-orphan"
    )
    shares: Mapped[list[GoalShare]] = relationship(
        back_populates="goal", cascade="all, delete-orphan"
    )
    contributions: Mapped[list[GoalContribution]] = relationship(
        back_populates="goal", order_by="GoalContribution.created_at", cascade="all, delete-orphan"
    )

    @property
    def latest(self) -> GoalVersion:
        """The current wording (a goal is created with its first version)."""
        return self.versions[-1]


class GoalVersion(TimestampMixin, Base):
    """The SMART wording of a goal at one moment; never changed once written."""

    __tablename__ = "goal_version"
    __table_args__ = (sa.UniqueConstraint("goal_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(sa.ForeignKey("learning_goal.id", ondelete="CASCADE"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(300))
    specific: Mapped[str] = mapped_column(sa.Text, default="")
    measure: Mapped[str] = mapped_column(sa.Text, default="")
    actions: Mapped[str] = mapped_column(sa.Text, default="")
    target_date: Mapped[date | None]
    # Snapshot of the linked competencies' labels, so a version (and an agreement's hash)
    # records exactly what was linked at the time.
    competencies: Mapped[list] = mapped_column(sa.JSON, default=list)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    # The accepted suggestion that led to this version, crediting its author.
    from_contribution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("goal_contribution.id"))

    goal: Mapped[LearningGoal] = relationship(back_populates="versions")
    author: Mapped[User] = relationship()


class GoalShare(TimestampMixin, Base):
    """A preceptor or panel patient the student chose to show the goal to."""

    __tablename__ = "goal_share"
    __table_args__ = (sa.UniqueConstraint("goal_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(sa.ForeignKey("learning_goal.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)

    goal: Mapped[LearningGoal] = relationship(back_populates="shares")
    user: Mapped[User] = relationship()


class ContributionKind(enum.StrEnum):
    SUGGESTION = "suggestion"
    COMMENT = "comment"
    PROGRESS_NOTE = "progress_note"
    AGREEMENT = "agreement"
    ENDORSEMENT = "endorsement"


class SuggestionState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class GoalContribution(TimestampMixin, Base):
    __tablename__ = "goal_contribution"

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(
        sa.ForeignKey("learning_goal.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    author_role: Mapped[Role] = mapped_column(enum_column(Role))
    kind: Mapped[ContributionKind] = mapped_column(enum_column(ContributionKind))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    version_number: Mapped[int]
    # For suggestions: which SMART field, the proposed wording, and the student's answer.
    field: Mapped[str | None] = mapped_column(sa.String(30))
    proposed_text: Mapped[str | None] = mapped_column(sa.Text)
    suggestion_state: Mapped[SuggestionState | None] = mapped_column(enum_column(SuggestionState))
    response_reason: Mapped[str | None] = mapped_column(sa.Text)
    signature_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))
    # A patient author chose to let their name appear (asked like on the feedback form).
    show_name: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    goal: Mapped[LearningGoal] = relationship(back_populates="contributions")
    author: Mapped[User] = relationship()
    signature: Mapped[Signature | None] = relationship()

    @property
    def shown_name(self) -> str | None:
        return shown_name(self.author, self.author_role, self.show_name)
