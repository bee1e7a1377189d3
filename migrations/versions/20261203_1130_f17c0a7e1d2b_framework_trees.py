"""Competency frameworks as trees: a framework's URI and version; each competency node's
parent, type, URI and retired flag; codes up to 100 characters and texts of any length.
The old flat ``domain`` text becomes domain nodes that the competencies hang under (their
ids do not change, so goals, assessments and signatures keep pointing at the same rows).

Revision ID: f17c0a7e1d2b
Revises: 18a5c0de5501
Create Date: 2026-12-03 11:30:00

"""

import re

import sqlalchemy as sa
from alembic import op

revision = "f17c0a7e1d2b"
down_revision = "18a5c0de5501"
branch_labels = None
depends_on = None


def _domain_code(name: str, taken: set[str]) -> str:
    base = ("D-" + re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-"))[:90] or "D"
    code, n = base, 1
    while code in taken:
        n += 1
        code = f"{base}-{n}"
    taken.add(code)
    return code


def upgrade():
    with op.batch_alter_table("framework", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uri", sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column("version", sa.String(length=100), nullable=False, server_default="")
        )
        batch_op.create_unique_constraint(batch_op.f("uq_framework_uri"), ["uri"])
    with op.batch_alter_table("competency", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "node_type", sa.String(length=40), nullable=False, server_default="competency"
            )
        )
        batch_op.add_column(sa.Column("uri", sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column("retired", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.alter_column(
            "code", existing_type=sa.String(length=30), type_=sa.String(length=100)
        )
        batch_op.alter_column("title", existing_type=sa.String(length=300), type_=sa.Text())
        batch_op.create_index(batch_op.f("ix_competency_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_competency_parent_id_competency"), "competency", ["parent_id"], ["id"]
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_competency_framework_id_uri"), ["framework_id", "uri"]
        )

    # Each distinct domain text becomes a domain node placed before the framework's others.
    bind = op.get_bind()
    competency = sa.table(
        "competency",
        sa.column("id", sa.Integer),
        sa.column("framework_id", sa.Integer),
        sa.column("parent_id", sa.Integer),
        sa.column("node_type", sa.String),
        sa.column("code", sa.String),
        sa.column("title", sa.Text),
        sa.column("description", sa.Text),
        sa.column("domain", sa.String),
        sa.column("position", sa.Integer),
        sa.column("retired", sa.Boolean),
    )
    rows = bind.execute(
        sa.select(
            competency.c.id, competency.c.framework_id, competency.c.code, competency.c.domain
        )
        .where(competency.c.domain != "")
        .order_by(competency.c.framework_id, competency.c.position, competency.c.id)
    ).all()
    codes: dict[int, set[str]] = {}
    domains: dict[tuple[int, str], int] = {}
    for row in bind.execute(sa.select(competency.c.framework_id, competency.c.code)):
        codes.setdefault(row.framework_id, set()).add(row.code)
    for row in rows:
        key = (row.framework_id, row.domain)
        if key not in domains:
            taken = codes.setdefault(row.framework_id, set())
            domains[key] = bind.execute(
                competency.insert()
                .values(
                    framework_id=row.framework_id,
                    parent_id=None,
                    node_type="domain",
                    code=_domain_code(row.domain, taken),
                    title=row.domain,
                    description="",
                    domain="",
                    position=-1000 + len(domains),
                    retired=False,
                )
                .returning(competency.c.id)
            ).scalar_one()
        bind.execute(
            competency.update().where(competency.c.id == row.id).values(parent_id=domains[key])
        )

    with op.batch_alter_table("competency", schema=None) as batch_op:
        batch_op.drop_column("domain")


def downgrade():
    with op.batch_alter_table("competency", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("domain", sa.String(length=200), nullable=False, server_default="")
        )
    # Domain nodes fold back into the text column of their direct children; deeper trees
    # cannot be expressed in the old shape and are flattened.
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE competency SET domain = (SELECT substr(p.title, 1, 200) FROM competency p "
            "WHERE p.id = competency.parent_id AND p.node_type = 'domain') "
            "WHERE parent_id IS NOT NULL AND EXISTS (SELECT 1 FROM competency p "
            "WHERE p.id = competency.parent_id AND p.node_type = 'domain')"
        )
    )
    # Domain nodes that only grouped others go; any a goal or assessment links to stay as
    # ordinary rows (the old shape has no other place for them).
    grouping = (
        bind.execute(
            sa.text(
                "SELECT id FROM competency WHERE node_type = 'domain' "
                "AND id IN (SELECT parent_id FROM competency WHERE parent_id IS NOT NULL) "
                "AND id NOT IN (SELECT competency_id FROM goal_competency) "
                "AND id NOT IN (SELECT competency_id FROM assessment_cycle)"
            )
        )
        .scalars()
        .all()
    )
    bind.execute(sa.text("UPDATE competency SET parent_id = NULL"))
    # The old columns were shorter: longer texts are cut (codes keep their row id to stay
    # unique within the framework).
    bind.execute(
        sa.text("UPDATE competency SET title = substr(title, 1, 300) WHERE length(title) > 300")
    )
    bind.execute(
        sa.text(
            "UPDATE competency SET code = substr(code, 1, 20) || '~' || CAST(id AS VARCHAR(9)) "
            "WHERE length(code) > 30"
        )
    )
    for competency_id in grouping:
        bind.execute(sa.text("DELETE FROM competency WHERE id = :id"), {"id": competency_id})
    with op.batch_alter_table("competency", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_competency_framework_id_uri"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_competency_parent_id_competency"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_competency_parent_id"))
        batch_op.alter_column("title", existing_type=sa.Text(), type_=sa.String(length=300))
        batch_op.alter_column(
            "code", existing_type=sa.String(length=100), type_=sa.String(length=30)
        )
        batch_op.drop_column("retired")
        batch_op.drop_column("uri")
        batch_op.drop_column("node_type")
        batch_op.drop_column("parent_id")
    with op.batch_alter_table("framework", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_framework_uri"), type_="unique")
        batch_op.drop_column("version")
        batch_op.drop_column("uri")
