"""The records token (clerkship.page_cache.records_version): changed only by writes to what a
portfolio may show, so an unchanged student's export is reused without reading the portfolio
again (export_document.records_stamp, the token and keys it was made under).

Revision ID: e1c0de5eed01
Revises: d7a1a5e0c0de
Create Date: 2026-12-04 14:30:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "e1c0de5eed01"
down_revision = "d7a1a5e0c0de"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("data_version") as batch:
        batch.add_column(sa.Column("records_token", sa.String(length=32), nullable=True))
    op.execute(
        sa.text("UPDATE data_version SET records_token = :token").bindparams(
            token=secrets.token_hex(16)
        )
    )
    with op.batch_alter_table("export_document") as batch:
        batch.add_column(sa.Column("records_stamp", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("export_document") as batch:
        batch.drop_column("records_stamp")
    with op.batch_alter_table("data_version") as batch:
        batch.drop_column("records_token")
