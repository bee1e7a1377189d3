"""Engine set-up that both databases need to behave alike."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from clerkship.extensions import db


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _make_sqlite_transactional(engine)


def _make_sqlite_transactional(engine: Engine) -> None:
    """Enforce foreign keys and let SQLAlchemy own BEGIN, so SAVEPOINTs and rollbacks work.

    pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; this is the
    recipe from SQLAlchemy's SQLite dialect documentation.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # IMMEDIATE: take the write lock at the start. With WAL, a transaction that read first
        # and writes later fails at once (no waiting) if another process wrote meanwhile —
        # as the web app and the export workers do on the same file.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
