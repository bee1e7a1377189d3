"""goal version competency snapshot

Revision ID: 5fb637e897db
Revises: b2d13c2aae76
Create Date: 2026-11-22 14:33:55.987019

"""

import sqlalchemy as sa
from alembic import op

revision = "5fb637e897db"
down_revision = "b2d13c2aae76"
branch_labels = None
depends_on = None


def upgrade():
    # NOT NULL on an existing table in two steps: fill existing rows, then drop the default.
    with op.batch_alter_table("goal_version", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("competencies", sa.JSON(), nullable=False, server_default="[]")
        )
    _snapshot_linked_competencies()
    with op.batch_alter_table("goal_version", schema=None) as batch_op:
        batch_op.alter_column("competencies", server_default=None)


def _snapshot_linked_competencies():
    """Fill each existing version with its goal's linked competencies ("CODE · Title", in
    framework order), as the application writes them; an empty list would change what every
    existing goal agreement covers."""
    bind = op.get_bind()
    links = sa.text(
        "SELECT gc.goal_id, c.code, c.title FROM goal_competency gc"
        " JOIN competency c ON c.id = gc.competency_id"
        " ORDER BY gc.goal_id, c.framework_id, c.position"
    )
    labels: dict[int, list[str]] = {}
    for goal_id, code, title in bind.execute(links):
        labels.setdefault(goal_id, []).append(f"{code} · {title}")
    goal_version = sa.table(
        "goal_version", sa.column("goal_id", sa.Integer), sa.column("competencies", sa.JSON)
    )
    for goal_id, competencies in labels.items():
        bind.execute(
            goal_version.update()
            .where(goal_version.c.goal_id == goal_id)
            .values(competencies=competencies)
        )


def downgrade():
    with op.batch_alter_table("goal_version", schema=None) as batch_op:
        batch_op.drop_column("competencies")
