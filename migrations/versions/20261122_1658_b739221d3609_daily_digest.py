"""daily digest

Revision ID: b739221d3609
Revises: 7fb22fcd94a2
Create Date: 2026-11-22 16:58:51.086952

"""
import sqlalchemy as sa
from alembic import op

revision = 'b739221d3609'
down_revision = '7fb22fcd94a2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_opt_out', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('last_digest_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('last_digest_on')
        batch_op.drop_column('digest_opt_out')

