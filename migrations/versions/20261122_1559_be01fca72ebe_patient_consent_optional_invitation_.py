"""patient consent optional, invitation withdrawal

Revision ID: be01fca72ebe
Revises: 4edb02dd11ae
Create Date: 2026-11-22 15:59:29.902417

"""
import sqlalchemy as sa
from alembic import op

revision = 'be01fca72ebe'
down_revision = '4edb02dd11ae'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('panel_entry', schema=None) as batch_op:
        batch_op.alter_column('consent_date',
               existing_type=sa.DATE(),
               nullable=True)

    with op.batch_alter_table('patient_invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('patient_invitation', schema=None) as batch_op:
        batch_op.drop_column('withdrawn_at')

    # The older schema cannot hold a patient without consent; those entries cannot go back.
    op.execute("DELETE FROM panel_entry WHERE consent_date IS NULL")

    with op.batch_alter_table('panel_entry', schema=None) as batch_op:
        batch_op.alter_column('consent_date',
               existing_type=sa.DATE(),
               nullable=False)

