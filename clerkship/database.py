"""Engine set-up that both databases need to behave alike."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from clerkship.extensions import db

# Requests that only read (a page, a download): their transaction need not hold the write lock.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MODE = "clerkship_transaction_mode"  # "read" or "write": what the next transactions do

logger = logging.getLogger("clerkship.database")


_PAGE = "clerkship_dispatching"  # set as a request starts: this is a request being served


def init_app(app: Flask) -> None:
    # First of all before_request functions: a request being served (not a request context a
    # command or a test pushes to build URLs, whose work is not a page's).
    app.before_request_funcs.setdefault(None, []).insert(0, _dispatching)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _make_sqlite_transactional(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])


def _dispatching() -> None:
    setattr(g, _PAGE, True)


def writes(view: Callable) -> Callable:
    """Mark a view that answers GET but writes (a first credential download issues a row; a
    school sign-in's return creates a session): its transaction takes SQLite's write lock
    at BEGIN, as a form's does. Without it a page's transaction only reads, and a write in it
    could fail at once when another connection wrote meanwhile (WAL cannot upgrade a stale
    read); the flush guard below refuses such writes in tests."""
    view.writes_on_get = True  # type: ignore[attr-defined]
    return view


def _view_writes() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "writes_on_get", False))


def reads_only() -> bool:
    """Whether the transactions this request begins now only read: on a page (GET/HEAD),
    unless its view is marked :func:`writes` or :func:`writing` said otherwise; in a form after
    :func:`reading_first`."""
    if not has_request_context() or not g.get(_PAGE):
        return False
    mode = g.get(_MODE)
    if mode:
        return mode == "read"
    return request.method in READ_METHODS and not _view_writes()


@event.listens_for(Session, "before_flush")
def _page_writes(session: Session, _context, _instances) -> None:
    """A page's transaction must not write: say which view forgot :func:`writes` (tests fail;
    a deployment logs it and tries, as before)."""
    if not reads_only() or not (session.new or session.deleted or session.dirty):
        return
    if not any(session.is_modified(o) for o in session.dirty) and not (
        session.new or session.deleted
    ):
        return
    message = (
        f"GET {request.endpoint} writes in a page's read-only transaction: mark the view with "
        "@database.writes, or write through transactions.side_write"
    )
    if current_app.testing:
        raise RuntimeError(message)
    logger.warning(message)


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
