"""The program whose director added an account (user.added_by_program_id): it links a
preceptor or patient imported but not yet paired or on a panel to that program, so no other
program's director can change them in the meantime.

Revision ID: a12a0c0de001
Revises: 5e55f1a1e0d0
Create Date: 2026-12-03 08:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a12a0c0de001"
down_revision = "5e55f1a1e0d0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("added_by_program_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_user_added_by_program_id_program"),
            "program",
            ["added_by_program_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_user_added_by_program_id_program"), type_="foreignkey")
        batch_op.drop_column("added_by_program_id")
