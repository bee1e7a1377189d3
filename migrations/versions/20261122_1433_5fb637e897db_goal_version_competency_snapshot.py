"""goal version competency snapshot

Revision ID: 5fb637e897db
Revises: b2d13c2aae76
Create Date: 2026-11-22 14:33:55.987019

"""

import sqlalchemy as sa
from alembic import op

revision = "5fb637e897db"
down_revision = "b2d13c2aae76"
branch_labels = None
depends_on = None


def upgrade():
    # NOT NULL on an existing table in two steps: fill existing rows, then drop the default.
    with op.batch_alter_table("goal_version", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("competencies", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("goal_version", schema=None) as batch_op:
        batch_op.alter_column("competencies", server_default=None)


def downgrade():
    with op.batch_alter_table("goal_version", schema=None) as batch_op:
        batch_op.drop_column("competencies")
