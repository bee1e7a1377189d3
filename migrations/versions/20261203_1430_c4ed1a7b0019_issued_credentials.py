"""Credentials: the level a program counts as an entrustment decision, and the credentials
issued for such decisions (stable id and revocation status-list index).

Revision ID: c4ed1a7b0019
Revises: 5a3118c0ffee
Create Date: 2026-12-03 14:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c4ed1a7b0019"
down_revision = "5a3118c0ffee"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entrustment_value", sa.Integer(), nullable=True))
    op.create_table(
        "issued_credential",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by_addendum_id", sa.Integer(), nullable=True),
        sa.Column("withdrawal_signature_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["assessment_cycle.id"],
            name=op.f("fk_issued_credential_cycle_id_assessment_cycle"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_issued_credential_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_by_addendum_id"],
            ["assessment_addendum.id"],
            name=op.f("fk_issued_credential_withdrawn_by_addendum_id_assessment_addendum"),
        ),
        sa.ForeignKeyConstraint(
            ["withdrawal_signature_id"],
            ["signature.id"],
            name=op.f("fk_issued_credential_withdrawal_signature_id_signature"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_credential")),
        sa.UniqueConstraint("cycle_id", name=op.f("uq_issued_credential_cycle_id")),
        sa.UniqueConstraint("status_index", name=op.f("uq_issued_credential_status_index")),
        sa.UniqueConstraint("uuid", name=op.f("uq_issued_credential_uuid")),
    )
    with op.batch_alter_table("issued_credential", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issued_credential_program_id"), ["program_id"])


def downgrade():
    op.drop_table("issued_credential")
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.drop_column("entrustment_value")
