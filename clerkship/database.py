"""Engine set-up that both databases need to behave alike."""

from __future__ import annotations

from flask import Flask, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from clerkship.extensions import db

# Requests that only read (a page, a download): their transaction need not hold the write lock.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MODE = "clerkship_transaction_mode"  # "read" or "write": what the next transactions do


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _make_sqlite_transactional(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])


def reads_only() -> bool:
    """Whether the transactions this request begins now only read: on a page (GET/HEAD),
    unless :func:`writing` said otherwise; in a form after :func:`reading_first`."""
    if not has_request_context():
        return False
    mode = g.get(_MODE)
    return mode == "read" if mode else request.method in READ_METHODS


def writing(on: bool = True) -> None:
    """The transactions that begin from now on in this request are for writing (or, with
    ``on=False``, back to what the request's method says)."""
    if has_request_context():
        setattr(g, _MODE, "write" if on else None)


def reading_first() -> None:
    """The next transaction of this form only reads and is ended before anything is written
    (transactions.release_read): on SQLite it need not wait for the write lock."""
    if has_request_context():
        setattr(g, _MODE, "read")


def reading_first_declared() -> bool:
    return has_request_context() and g.get(_MODE) == "read"


def _make_sqlite_transactional(engine: Engine, busy_timeout_ms: int) -> None:
    """Enforce foreign keys, let SQLAlchemy own BEGIN (so SAVEPOINTs and rollbacks work) and
    make waiting for the write lock the worst that concurrent use can do.

    pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; this is the
    recipe from SQLAlchemy's SQLite dialect documentation.
    """
    timeout = int(busy_timeout_ms)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # First: switching to WAL itself may have to wait for another connection.
        cursor.execute(f"PRAGMA busy_timeout={timeout}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if reads_only():
            # A page that reads: WAL lets it read beside a writer, holding no lock, so
            # concurrent pages never queue behind each other. Its few small writes (activity
            # time, "viewed" rows) run after it, in a transaction of their own
            # (clerkship.transactions.side_write).
            connection.exec_driver_sql("BEGIN")
            return
        # IMMEDIATE: take the write lock at the start. With WAL, a transaction that read first
        # and writes later fails at once (no waiting) if another process wrote meanwhile —
        # as the web app and the export workers do on the same file.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
