"""Programs, cohorts and the relationships that decide who may see whom."""

from __future__ import annotations

import enum
from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clerkship.models.base import Base, TimestampMixin, enum_column
from clerkship.models.users import User

if TYPE_CHECKING:  # names used only in annotations; importing them would be circular
    from clerkship.models.feedback import FeedbackInstrument
    from clerkship.models.frameworks import EntrustmentScale, Framework

program_director = sa.Table(
    "program_director",
    Base.metadata,
    sa.Column("program_id", sa.ForeignKey("program.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
)

# The competency frameworks a program assesses against (goals and assessments use these).
program_framework = sa.Table(
    "program_framework",
    Base.metadata,
    sa.Column("program_id", sa.ForeignKey("program.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("framework_id", sa.ForeignKey("framework.id", ondelete="CASCADE"), primary_key=True),
)

DISCIPLINES = (
    "Family medicine",
    "Internal medicine",
    "Paediatrics",
    "Obstetrics & gynaecology",
    "Psychiatry",
    "Surgery",
    "Neurology",
)


class Program(TimestampMixin, Base):
    __tablename__ = "program"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    institution: Mapped[str] = mapped_column(sa.String(200), default="")
    # IANA name; the program's day (digests: one per person per day here) turns at its midnight.
    time_zone: Mapped[str] = mapped_column(sa.String(64), default="UTC", server_default="UTC")
    scale_id: Mapped[int | None] = mapped_column(sa.ForeignKey("entrustment_scale.id"))
    # Off: people of this program who have signed in through the school must keep doing so.
    password_for_school_accounts: Mapped[bool] = mapped_column(
        default=True, server_default=sa.true()
    )
    feedback_instrument_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("feedback_instrument.id")
    )
    # Opt-in account creation (clerkship.sso.service.sign_up): e-mail domains, one per line or
    # separated by spaces or commas. Empty (the default): nobody is ever created by signing in.
    school_sign_up_domains: Mapped[str] = mapped_column(
        sa.String(500), default="", server_default=""
    )
    # The lowest level (by value, on the program's scale) a co-signed preceptor rating must
    # reach to be an entrustment decision, which the student may take away as a credential.
    # None: the program issues no credentials.
    entrustment_value: Mapped[int | None]

    directors: Mapped[list[User]] = relationship(
        secondary=program_director, back_populates="directed_programs"
    )
    cohorts: Mapped[list[Cohort]] = relationship(
        back_populates="program", order_by="Cohort.start_date.desc()"
    )
    frameworks: Mapped[list[Framework]] = relationship(
        secondary=program_framework, order_by="Framework.name"
    )
    scale: Mapped[EntrustmentScale | None] = relationship()
    feedback_instrument: Mapped[FeedbackInstrument | None] = relationship()


class Cohort(TimestampMixin, Base):
    """An academic year of a program."""

    __tablename__ = "cohort"
    __table_args__ = (sa.UniqueConstraint("program_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("program.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    start_date: Mapped[date]
    end_date: Mapped[date]

    program: Mapped[Program] = relationship(back_populates="cohorts")
    enrollments: Mapped[list[Enrollment]] = relationship(back_populates="cohort")


class EnrollmentStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class Enrollment(TimestampMixin, Base):
    __tablename__ = "enrollment"
    __table_args__ = (sa.UniqueConstraint("cohort_id", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohort.id"), index=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    status: Mapped[EnrollmentStatus] = mapped_column(
        enum_column(EnrollmentStatus), default=EnrollmentStatus.ACTIVE
    )

    cohort: Mapped[Cohort] = relationship(back_populates="enrollments")
    student: Mapped[User] = relationship()


def _is_current(start: date, end: date | None, today: date) -> bool:
    return start <= today and (end is None or today <= end)


class Assignment(TimestampMixin, Base):
    """A student paired with a preceptor for one discipline, between two dates."""

    __tablename__ = "assignment"
    __table_args__ = (
        sa.UniqueConstraint("student_id", "preceptor_id", "discipline", "start_date"),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohort.id"), index=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    preceptor_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    discipline: Mapped[str] = mapped_column(sa.String(100))
    start_date: Mapped[date]
    end_date: Mapped[date | None]

    cohort: Mapped[Cohort] = relationship()
    student: Mapped[User] = relationship(foreign_keys=[student_id])
    preceptor: Mapped[User] = relationship(foreign_keys=[preceptor_id])

    def is_active_on(self, today: date) -> bool:
        return _is_current(self.start_date, self.end_date, today)


class PanelEntry(TimestampMixin, Base):
    """A continuity patient on a student's panel. Consent comes before anything else."""

    __tablename__ = "panel_entry"
    __table_args__ = (
        sa.UniqueConstraint("student_id", "patient_id", "cohort_id"),
        sa.CheckConstraint("end_date IS NULL OR end_date >= consent_date", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohort.id"), index=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    # None until the patient has agreed to take part: no invitation, no access before that.
    consent_date: Mapped[date | None]
    end_date: Mapped[date | None]

    cohort: Mapped[Cohort] = relationship()
    student: Mapped[User] = relationship(foreign_keys=[student_id])
    patient: Mapped[User] = relationship(foreign_keys=[patient_id])

    def is_active_on(self, today: date) -> bool:
        if self.consent_date is None:
            return False
        return _is_current(self.consent_date, self.end_date, today)
