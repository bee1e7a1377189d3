"""assessment evidence, plan goals, program frameworks

Revision ID: 4edb02dd11ae
Revises: 5fb637e897db
Create Date: 2026-11-22 15:43:19.304872

"""
import sqlalchemy as sa
from alembic import op

revision = '4edb02dd11ae'
down_revision = '5fb637e897db'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('program_framework',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('framework_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['framework_id'], ['framework.id'], name=op.f('fk_program_framework_framework_id_framework'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_program_framework_program_id_program'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('program_id', 'framework_id', name=op.f('pk_program_framework'))
    )
    op.create_table('self_assessment_goal',
    sa.Column('self_assessment_id', sa.Integer(), nullable=False),
    sa.Column('goal_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['goal_id'], ['learning_goal.id'], name=op.f('fk_self_assessment_goal_goal_id_learning_goal'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['self_assessment_id'], ['self_assessment.id'], name=op.f('fk_self_assessment_goal_self_assessment_id_self_assessment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('self_assessment_id', 'goal_id', name=op.f('pk_self_assessment_goal'))
    )
    op.create_table('self_assessment_feedback',
    sa.Column('self_assessment_id', sa.Integer(), nullable=False),
    sa.Column('feedback_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['feedback_id'], ['patient_feedback.id'], name=op.f('fk_self_assessment_feedback_feedback_id_patient_feedback'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['self_assessment_id'], ['self_assessment.id'], name=op.f('fk_self_assessment_feedback_self_assessment_id_self_assessment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('self_assessment_id', 'feedback_id', name=op.f('pk_self_assessment_feedback'))
    )
    op.create_table('self_assessment_reflection',
    sa.Column('self_assessment_id', sa.Integer(), nullable=False),
    sa.Column('reflection_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['reflection_id'], ['reflection.id'], name=op.f('fk_self_assessment_reflection_reflection_id_reflection'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['self_assessment_id'], ['self_assessment.id'], name=op.f('fk_self_assessment_reflection_self_assessment_id_self_assessment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('self_assessment_id', 'reflection_id', name=op.f('pk_self_assessment_reflection'))
    )
    # NOT NULL on an existing table in steps: add nullable, fill from updated_at, tighten.
    with op.batch_alter_table('assessment_cycle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE assessment_cycle SET status_changed_at = updated_at")
    with op.batch_alter_table('assessment_cycle', schema=None) as batch_op:
        batch_op.alter_column('status_changed_at', existing_type=sa.DateTime(timezone=True), nullable=False)

    with op.batch_alter_table('learning_goal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('from_assessment_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_learning_goal_from_assessment_id'), ['from_assessment_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_learning_goal_from_assessment_id_assessment_cycle'), 'assessment_cycle', ['from_assessment_id'], ['id'])


def downgrade():
    with op.batch_alter_table('learning_goal', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_learning_goal_from_assessment_id_assessment_cycle'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_learning_goal_from_assessment_id'))
        batch_op.drop_column('from_assessment_id')

    with op.batch_alter_table('assessment_cycle', schema=None) as batch_op:
        batch_op.drop_column('status_changed_at')

    op.drop_table('self_assessment_reflection')
    op.drop_table('self_assessment_feedback')
    op.drop_table('self_assessment_goal')
    op.drop_table('program_framework')
