"""Keyed signatures over snapshots, the hash-chained signature log and integrity checks.

Existing signatures (scheme 1: a bare SHA-256 anyone could recompute) are upgraded: a snapshot
is taken from the data as it stands, signed with the program's key (scheme 2) and appended to
the chain in the order they were signed.

Revision ID: 9c1e5a7d2b13
Revises: 9c1d2e3f4a5b
Create Date: 2026-12-03 07:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "9c1e5a7d2b13"
down_revision = "9c1d2e3f4a5b"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheme", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("snapshot", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("key_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("value", sa.String(length=128), nullable=True))
    op.create_table(
        "signature_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_type", sa.String(length=50), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_signature_log")),
    )
    with op.batch_alter_table("signature_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signature_log_signature_id"), ["signature_id"], unique=False
        )
    op.create_table(
        "integrity_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("signatures", sa.Integer(), nullable=False),
        sa.Column("head_seq", sa.Integer(), nullable=True),
        sa.Column("head_hash", sa.String(length=64), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrity_check")),
    )
    _resign_existing()


def _resign_existing():
    """Re-sign with the application's own snapshot code, on this migration's connection.

    An exception to "migrations never import application code": the snapshot and the
    signature must be exactly what the application verifies, and the key lives outside the
    database, so only the application can make them.
    """
    from clerkship.extensions import db
    from clerkship.integrity import service

    engines = db.engines
    engine = engines[None]
    original = db.session
    engines[None] = op.get_bind()
    # No data version yet (clerkship.page_cache: its table comes in a later migration).
    db.session = db._make_scoped_session(
        {"join_transaction_mode": "create_savepoint", "info": {"clerkship_no_data_version": True}}
    )
    try:
        service.resign_existing()
        db.session.commit()
    finally:
        db.session.remove()
        db.session = original
        engines[None] = engine


def downgrade():
    op.drop_table("integrity_check")
    with op.batch_alter_table("signature_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signature_log_signature_id"))
    op.drop_table("signature_log")
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.drop_column("value")
        batch_op.drop_column("key_id")
        batch_op.drop_column("snapshot")
        batch_op.drop_column("scheme")
