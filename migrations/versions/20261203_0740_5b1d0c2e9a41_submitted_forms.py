"""Submitted forms: one row per create form sent, so the same form twice creates one record.

Revision ID: 5b1d0c2e9a41
Revises: a12a0c0de001
Create Date: 2026-12-03 07:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b1d0c2e9a41'
down_revision = 'a12a0c0de001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('submitted_form',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('endpoint', sa.String(length=100), nullable=False),
    sa.Column('result_url', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_submitted_form_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submitted_form')),
    sa.UniqueConstraint('token', name=op.f('uq_submitted_form_token'))
    )
    with op.batch_alter_table('submitted_form', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submitted_form_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_submitted_form_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('submitted_form', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submitted_form_user_id'))
        batch_op.drop_index(batch_op.f('ix_submitted_form_created_at'))

    op.drop_table('submitted_form')
