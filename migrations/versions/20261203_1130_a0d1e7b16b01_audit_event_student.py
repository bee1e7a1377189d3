"""Whose record an audit event is about (audit_event.student_id), for the audit viewer:
"who saw this student's records", scoped to a director's own program. Earlier events are
filled in from the record they name.

Revision ID: a0d1e7b16b01
Revises: f17c0a7e1d2b
Create Date: 2026-12-03 11:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a0d1e7b16b01"
down_revision = "f17c0a7e1d2b"
branch_labels = None
depends_on = None

# The records that carry their student (object_type is the table's name).
STUDENT_RECORDS = (
    "learning_goal",
    "assessment_cycle",
    "patient_feedback",
    "patient_invitation",
    "reflection",
    "enrollment",
    "assignment",
    "panel_entry",
    "export_job",
)


def upgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("student_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_event_student_id"), ["student_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_audit_event_student_id_user"), "user", ["student_id"], ["id"]
        )
    for table in STUDENT_RECORDS:
        op.execute(
            f"UPDATE audit_event SET student_id = (SELECT t.student_id FROM {table} t "
            f"WHERE t.id = audit_event.object_id) WHERE object_type = '{table}'"
        )
    op.execute(
        'UPDATE audit_event SET student_id = object_id WHERE object_type = \'user\' AND '
        'object_id IN (SELECT id FROM "user" WHERE role = \'student\')'
    )


def downgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_audit_event_student_id_user"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_audit_event_student_id"))
        batch_op.drop_column("student_id")
