"""The data version (clerkship.page_cache): one row whose random token changes with every
transaction that changes what a page may show, so a page kept for a token is never stale.

Revision ID: d7a1a5e0c0de
Revises: c4ed1a7b0019
Create Date: 2026-12-03 18:00:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "d7a1a5e0c0de"
down_revision = "c4ed1a7b0019"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "data_version",
        # One row, id 1, never generated: no sequence (the backup check would see its
        # unused sequence behind the row's id).
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
    )
    op.bulk_insert(table, [{"id": 1, "token": secrets.token_hex(16)}])


def downgrade():
    op.drop_table("data_version")
