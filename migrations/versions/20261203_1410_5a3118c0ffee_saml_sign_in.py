"""SAML sign-in (issue 18): assertion ids already used (saml_assertion, kept until they
expire, so a replayed assertion is refused on every worker), and a program's opt-in e-mail
domains for creating students at their first school sign-in (program.school_sign_up_domains,
empty by default: nobody is created).

Revision ID: 5a3118c0ffee
Revises: a0d1e7b16b01
Create Date: 2026-12-03 14:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "5a3118c0ffee"
down_revision = "a0d1e7b16b01"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "saml_assertion",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saml_assertion")),
    )
    with op.batch_alter_table("saml_assertion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saml_assertion_expires_at"), ["expires_at"], unique=False)
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("school_sign_up_domains", sa.String(length=500), server_default="", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.drop_column("school_sign_up_domains")
    with op.batch_alter_table("saml_assertion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saml_assertion_expires_at"))
    op.drop_table("saml_assertion")
