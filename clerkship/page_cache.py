"""Busy pages kept as HTML until the data they show changes (the homes, the cohort dashboard).

A kept page is found by what it was made from: the page's address, who asked, their language
and time zone, the day, a minute window, and the **data version**. The version is a random
token in one database row (``data_version``) that every transaction changing what a page may
show replaces, in that same transaction: a page kept for a token is exactly the page of the
data under that token, and any change anywhere gives every page a new key. Nothing to forget
to invalidate, on any path (forms, imports, commands, export workers on other machines).

- The token is read first in the request, before the signed-in user is loaded: whatever the
  page then reads is at least as new as the token, never older.
- Rows that no kept page shows (audit events, sign-in sessions, submitted-form tokens, SAML
  replay ids) change no token: a page view's own side writes do not throw its page away.
- This process's own writes, committed or not, also change the key (a counter): a test's (or a
  command's) open transaction is seen at once, and a rollback never brings back a page kept
  from data that was never committed.
- A second token in the row, the **records token**, changes only with rows a portfolio may
  show (not with exports, digests or API tokens): an export reuses a student's PDF made under
  the same records token without reading the portfolio again (portfolios/jobs.py).
- The minute window bounds how long a page may show something that depends on the time of
  day (an invitation that just expired) without any write.

Per-request values are never kept: the CSRF token is cut out and put back fresh for each
request; a page that made a double-submit token, flashed a message, queued a side write (a
"viewed" audit row) or failed is served but not kept. Pages are kept in this process's memory
(``PAGE_CACHE_BYTES`` each; 0 turns keeping off), least recently used first out.
"""

from __future__ import annotations

import functools
import itertools
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, request, session
from flask.globals import request_ctx
from flask_babel import get_locale, get_timezone
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event, inspect, update
from sqlalchemy.orm import Session

from clerkship import transactions
from clerkship.clock import utcnow
from clerkship.extensions import db
from clerkship.models.versions import DATA_VERSION_ID, DataVersion

# Rows no kept page shows: writing them leaves the data version as it is.
NOT_SHOWN = frozenset({"audit_event", "sign_in_session", "submitted_form", "saml_assertion"})
# Rows no portfolio shows: writing them leaves the records token as it is (an export's own
# rows, above all, so that exporting again finds every portfolio unchanged).
NOT_IN_PORTFOLIOS = NOT_SHOWN | {"export_job", "export_document", "digest_sent", "api_token"}
# Columns no portfolio shows, of tables it does: what a sign-in writes on the user's row.
NOT_IN_PORTFOLIOS_COLUMNS = {"user": frozenset({"last_sign_in_at", "password_hash"})}
WINDOW_SECONDS = 60

_WROTE = "clerkship_page_cache_wrote"  # session.info: this transaction changed shown rows
_WROTE_RECORDS = "clerkship_records_wrote"  # session.info: … and rows a portfolio shows
# session.info: a session that never replaces the token (a migration older than the table).
NO_DATA_VERSION = "clerkship_no_data_version"
_VERSION = "clerkship_page_version"  # g: the token read as the request began
_UNKEEPABLE = "clerkship_page_unkeepable"  # g: this response holds a per-request value
_counter = itertools.count(1)
_local_writes = next(_counter)  # this process's writes so far (see the module doc)


# --- the data version ------------------------------------------------------------------------


def _note_objects(session: Session) -> None:
    new_or_deleted = itertools.chain(session.new, session.deleted)
    tables = {getattr(obj, "__tablename__", None) for obj in new_or_deleted}
    records = bool(tables - NOT_IN_PORTFOLIOS)
    for obj in session.dirty:
        if not session.is_modified(obj):
            continue
        table = getattr(obj, "__tablename__", None)
        tables.add(table)
        if not records and table not in NOT_IN_PORTFOLIOS:
            records = _changed(obj) - NOT_IN_PORTFOLIOS_COLUMNS.get(table, frozenset()) != set()
    _note_tables(session, tables, records)


def _changed(obj) -> set[str]:
    return {attr.key for attr in inspect(obj).attrs if attr.history.has_changes()}


def _note_tables(session: Session, tables: set[str | None], records: bool) -> None:
    if tables - NOT_SHOWN:
        session.info[_WROTE] = True
        _wrote_locally()
    if records:
        session.info[_WROTE_RECORDS] = True


def _wrote_locally() -> None:
    global _local_writes
    _local_writes = next(_counter)


@event.listens_for(Session, "before_flush")
def _note_flush(session: Session, _context, _instances) -> None:
    _note_objects(session)


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state) -> None:
    """Bulk ``update()``/``delete()``/``insert()`` and text statements bypass the flush."""
    statement = state.statement
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(getattr(statement, "table", None), "name", None)
        if table != DataVersion.__tablename__:
            _note_tables(state.session, {table}, table not in NOT_IN_PORTFOLIOS)
    elif hasattr(statement, "text") and statement.text.lstrip()[:6].upper() in {
        "INSERT",
        "UPDATE",
        "DELETE",
    }:
        _note_tables(state.session, {None}, True)  # which table is unknown: both tokens change


@event.listens_for(Session, "before_commit")
def _new_version(session: Session) -> None:
    """Last in the transaction, so the row is locked only while the commit itself runs.
    SQLAlchemy calls this before the commit's own flush: flushed now, so that changes still
    pending are noted too."""
    session.flush()
    wrote, records = session.info.pop(_WROTE, False), session.info.pop(_WROTE_RECORDS, False)
    if (wrote or records) and not session.info.get(NO_DATA_VERSION):
        tokens = {"token": secrets.token_hex(16)} if wrote else {}
        if records:
            tokens["records_token"] = secrets.token_hex(16)
        session.execute(
            update(DataVersion).where(DataVersion.id == DATA_VERSION_ID).values(**tokens)
        )


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous) -> None:
    """Any rollback, a savepoint's too: what this process may have shown from it is gone."""
    if session.info.get(_WROTE):
        _wrote_locally()
    if previous.parent is None:
        session.info.pop(_WROTE, None)
        session.info.pop(_WROTE_RECORDS, None)


_READ_VERSION = "SELECT token FROM data_version WHERE id = 1"  # DATA_VERSION_ID


def data_version() -> str | None:
    """The current token; ``None`` without the row (a database made by ``create_all``).
    Plain SQL: on a kept page this is one of its two queries, and compiling it cost more
    than running it."""
    return db.session.connection().exec_driver_sql(_READ_VERSION).scalar()


_READ_RECORDS = "SELECT records_token FROM data_version WHERE id = 1"


def records_version() -> str | None:
    """The records token: the same for as long as nothing a portfolio shows has changed;
    ``None`` without the row. Read it before the records it stands for."""
    return db.session.connection().exec_driver_sql(_READ_RECORDS).scalar()


# --- the kept pages --------------------------------------------------------------------------


class PageStore:
    """Least recently used pages, up to a number of bytes; safe across threads."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = self.misses = 0
        self._pages: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()
        # Stands in for the CSRF token in a kept page: random, so no one's text can hold it.
        self.hole = f"csrf-{secrets.token_hex(16)}"

    def get(self, key: tuple) -> str | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return page

    def put(self, key: tuple, page: str) -> None:
        cost = len(page)
        if cost > self.max_bytes:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self.size -= len(old)
            self._pages[key] = page
            self.size += cost
            while self.size > self.max_bytes:
                _key, dropped = self._pages.popitem(last=False)
                self.size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self.size = self.hits = self.misses = 0


def store(app: Flask | None = None) -> PageStore | None:
    return (app or current_app).extensions.get("page_cache")


def kept(view: Callable) -> Callable:
    """Keep this GET view's page until the data changes. Put it below ``login_required``:
    only a signed-in person's page is kept, under their own key."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        pages = store()
        version = g.get(_VERSION)
        if pages is None or version is None or not _keepable_request():
            return view(*args, **kwargs)
        key = _key(version)
        page = pages.get(key)
        if page is not None:
            return page.replace(pages.hole, generate_csrf())
        side_writes = transactions.side_writes_queued()
        answer = view(*args, **kwargs)
        if isinstance(answer, str) and _keepable_answer(side_writes):
            pages.put(key, answer.replace(generate_csrf(), pages.hole))
        return answer

    wrapper.keeps_page = True  # type: ignore[attr-defined]  # read by the version hook
    return wrapper


def not_keepable() -> None:
    """This response holds a value made for this request alone (a double-submit token)."""
    setattr(g, _UNKEEPABLE, True)


def _keepable_request() -> bool:
    return (
        request.method in ("GET", "HEAD")
        and current_user.is_authenticated
        and not session.get("_flashes")
    )


def _keepable_answer(side_writes_before: int) -> bool:
    return not (
        g.get(_UNKEEPABLE)
        or getattr(request_ctx, "flashes", None)
        or transactions.failed()
        # The view asked for a write with its page (a "viewed" row): every view must make it.
        or transactions.side_writes_queued() > side_writes_before
    )


def _key(version: str) -> tuple:
    now = utcnow()
    return (
        request.full_path,
        current_user.id,
        str(get_locale()),
        str(get_timezone()),
        now.date().isoformat(),
        int(now.timestamp()) // WINDOW_SECONDS,
        version,
        _local_writes,
    )


def init_app(app: Flask) -> None:
    max_bytes = int(app.config["PAGE_CACHE_BYTES"])
    if max_bytes <= 0:
        return
    app.extensions["page_cache"] = PageStore(max_bytes)

    def _read_version() -> None:
        # Before anything else reads (the signed-in user is loaded next): see the module doc.
        view = app.view_functions.get(request.endpoint or "")
        if request.method in ("GET", "HEAD") and hasattr(view, "keeps_page"):
            setattr(g, _VERSION, data_version())

    # Right after clerkship.database marks the request as being served.
    app.before_request_funcs.setdefault(None, []).insert(1, _read_version)
