"""Patient pages end on the server: "I am done" and a withdrawal close every page opened
from the link so far (patient_invitation.sessions_ended_at).

Revision ID: 5e55f1a1e0d0
Revises: 3306b031075a
Create Date: 2026-12-03 07:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "5e55f1a1e0d0"
down_revision = "3306b031075a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("patient_invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sessions_ended_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("patient_invitation", schema=None) as batch_op:
        batch_op.drop_column("sessions_ended_at")
