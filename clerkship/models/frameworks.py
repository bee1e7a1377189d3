"""Competency frameworks and entrustment scales (seeded from data files)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clerkship.models.base import Base, TimestampMixin


class Framework(TimestampMixin, Base):
    __tablename__ = "framework"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(50), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    source: Mapped[str] = mapped_column(sa.String(300), default="")
    # The publisher's identifier and edition (CTDL-ASN @id / CASE CFDocument uri, version).
    uri: Mapped[str | None] = mapped_column(sa.String(500), unique=True)
    version: Mapped[str] = mapped_column(sa.String(100), default="")

    competencies: Mapped[list[Competency]] = relationship(
        back_populates="framework", order_by="Competency.position", cascade="all, delete-orphan"
    )


class Competency(Base):
    """One node of a framework's tree: a domain, competency, sub-competency, behaviour or
    level. Nodes are retired, never deleted, so goals, assessments and signatures that point
    at them keep working; ``uri`` is the publisher's stable identifier."""

    __tablename__ = "competency"
    __table_args__ = (
        sa.UniqueConstraint("framework_id", "code"),
        sa.UniqueConstraint("framework_id", "uri"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(sa.ForeignKey("framework.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("competency.id"), index=True)
    node_type: Mapped[str] = mapped_column(sa.String(40), default="competency")
    uri: Mapped[str | None] = mapped_column(sa.String(500))
    code: Mapped[str] = mapped_column(sa.String(100))
    title: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    retired: Mapped[bool] = mapped_column(default=False)

    framework: Mapped[Framework] = relationship(back_populates="competencies")
    parent: Mapped[Competency | None] = relationship(remote_side=[id])

    @property
    def label(self) -> str:
        return f"{self.code} · {self.title}"


class EntrustmentScale(TimestampMixin, Base):
    __tablename__ = "entrustment_scale"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(50), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")

    levels: Mapped[list[EntrustmentLevel]] = relationship(
        back_populates="scale", order_by="EntrustmentLevel.value", cascade="all, delete-orphan"
    )


class EntrustmentLevel(Base):
    """One labelled step of a scale; ``value`` orders the steps and is never shown alone."""

    __tablename__ = "entrustment_level"
    __table_args__ = (sa.UniqueConstraint("scale_id", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scale_id: Mapped[int] = mapped_column(sa.ForeignKey("entrustment_scale.id"), index=True)
    value: Mapped[int]
    label: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")

    scale: Mapped[EntrustmentScale] = relationship(back_populates="levels")
