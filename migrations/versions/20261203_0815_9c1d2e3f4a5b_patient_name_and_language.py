"""A patient's name on a goal contribution appears only if they chose so
(goal_contribution.show_name, default not shown), and a patient link remembers the
language chosen on its pages (patient_invitation.language).

Revision ID: 9c1d2e3f4a5b
Revises: b968d6f4b22f
Create Date: 2026-12-03 08:15:00

"""

import sqlalchemy as sa
from alembic import op

revision = "9c1d2e3f4a5b"
down_revision = "b968d6f4b22f"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("goal_contribution", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("show_name", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("patient_invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table("patient_invitation", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("goal_contribution", schema=None) as batch_op:
        batch_op.drop_column("show_name")
