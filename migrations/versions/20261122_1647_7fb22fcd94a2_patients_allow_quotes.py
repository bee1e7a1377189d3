"""patients allow quotes

Revision ID: 7fb22fcd94a2
Revises: e687076d14a4
Create Date: 2026-11-22 16:47:47.531720

"""
import sqlalchemy as sa
from alembic import op

revision = '7fb22fcd94a2'
down_revision = 'e687076d14a4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patient_feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allow_quotes', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('patient_feedback', schema=None) as batch_op:
        batch_op.drop_column('allow_quotes')

