"""School sign-in (issue 18): how a signer authenticated is kept with the signature
(signature.authentication), when a person first signed in through the school
(user.school_sign_in_at), and a program's switch for password sign-in of people with a
school account (program.password_for_school_accounts, on by default).

Revision ID: 18a5c0de5501
Revises: a19e7c0de019
Create Date: 2026-12-03 11:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "18a5c0de5501"
down_revision = "a19e7c0de019"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(sa.Column("authentication", sa.JSON(), nullable=True))
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("school_sign_in_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "password_for_school_accounts",
                sa.Boolean(),
                server_default=sa.true(),
                nullable=False,
            )
        )


def downgrade():
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.drop_column("password_for_school_accounts")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("school_sign_in_at")
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.drop_column("authentication")
