"""export documents

Revision ID: e687076d14a4
Revises: be01fca72ebe
Create Date: 2026-11-22 16:19:55.879371

"""
import sqlalchemy as sa
from alembic import op

revision = 'e687076d14a4'
down_revision = 'be01fca72ebe'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('export_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='exportstatus', native_enum=False, length=32), nullable=False),
    sa.Column('cache_key', sa.String(length=64), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('file_hash', sa.String(length=64), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=500), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reused_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['export_job.id'], name=op.f('fk_export_document_job_id_export_job')),
    sa.ForeignKeyConstraint(['reused_id'], ['export_document.id'], name=op.f('fk_export_document_reused_id_export_document')),
    sa.ForeignKeyConstraint(['student_id'], ['user.id'], name=op.f('fk_export_document_student_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_document')),
    sa.UniqueConstraint('public_id', name=op.f('uq_export_document_public_id'))
    )
    with op.batch_alter_table('export_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_document_cache_key'), ['cache_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_document_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_document_student_id'), ['student_id'], unique=False)

    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('period_start', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('period_end', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.drop_column('period_end')
        batch_op.drop_column('period_start')

    with op.batch_alter_table('export_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_document_student_id'))
        batch_op.drop_index(batch_op.f('ix_export_document_job_id'))
        batch_op.drop_index(batch_op.f('ix_export_document_cache_key'))

    op.drop_table('export_document')
