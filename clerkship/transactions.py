"""The one transaction boundary: a request commits once, here, or writes nothing.

Views, ``load_or_404`` and services add to the session and never commit or roll back. At the
end of every request :func:`init_app`'s handler decides:

- a response below 400 commits — unless the view called :func:`fail` (a refusal shown on a
  page that is itself a 200 or a redirect);
- anything else (a 4xx/5xx page, an exception) rolls back, so a refused POST leaves no row
  behind, not even the audit event of the record it opened;
- a commit that fails (a concurrent change: 409; the database busy or gone: 503) rolls back
  and answers with a readable page instead of the view's: nothing half-written, nothing
  claimed as saved.

Work that must only happen once the data is safe (e-mails, task enqueues) is handed to
:func:`after_commit`; it runs after the commit and is dropped by a rollback.

CLI commands and task-queue functions have no request: they wrap their work in
:func:`unit_of_work`, the same rule (commit on success, roll back on error) for one block.

The only deliberate exception is an audit trail of *refusals* that must survive the failed
request (a wrong password, a failed sign-in): :func:`clerkship.audit.record_refusal` keeps
them aside and :func:`_write_refusals` writes them in their own transaction after the request's
own has ended — they never ride along with the refused work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, Response, g, has_request_context, session
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.exc import StaleDataError

from clerkship.extensions import db

logger = logging.getLogger("clerkship.transactions")

_PENDING = "clerkship_after_commit"
_DUE = "clerkship_after_commit_due"
_FAILED = "clerkship_request_failed"
_REFUSALS = "clerkship_refusals"
_FLUSHED = "clerkship_flushed"
_SIDE_WRITES = "clerkship_side_writes"

CONFLICT = _l(
    "Someone changed this at the same moment and theirs was saved first. Nothing you sent "
    "was saved: go back, reload the page and try again."
)
UNAVAILABLE = _l(
    "The database is busy or unavailable. Nothing you sent was saved: please try again in "
    "a moment."
)


def after_commit(callback: Callable[[], Any]) -> None:
    """Run ``callback`` once the current transaction has committed; a rollback drops it.

    It runs after the transaction has ended, so it may read the database (a new transaction);
    an exception in it is logged and never undoes the committed work.
    """
    db.session.info.setdefault(_PENDING, []).append(callback)


def _roll_back() -> None:
    # Also when no transaction was open (nothing read yet), which fires no rollback event.
    db.session.info.pop(_PENDING, None)
    db.session.rollback()


def fail() -> None:
    """This request is refused: undo what it has written so far and commit nothing at its end.

    For refusals shown on a 200 page or after a redirect (a 4xx response needs no call).
    """
    _roll_back()
    if has_request_context():
        setattr(g, _FAILED, True)


def failed() -> bool:
    return has_request_context() and getattr(g, _FAILED, False)


def side_write(write: Callable[[], Any], *, required: bool = False) -> None:
    """A small write made by a request that otherwise only reads (the session's activity
    time, a "viewed" row in the audit log).

    On a page (GET/HEAD) it runs in a short transaction of its own once the page's has
    committed, and is dropped if the page fails: a page never holds SQLite's write lock while
    it reads and renders (clerkship.database), so pages never queue behind one another. A
    ``required`` write that cannot be made (the database busy past its time-out, or gone)
    turns the page into the "busy" page: nobody sees a record whose opening went unrecorded.
    In any other request it is part of the request's own transaction.
    """
    from clerkship import database

    if database.reads_only():
        g.setdefault(_SIDE_WRITES, []).append((write, required))
    else:
        write()


def side_writes_queued() -> int:
    """How many side writes this request has queued so far (to run after its page)."""
    return len(g.get(_SIDE_WRITES, ())) if has_request_context() else 0


def release_read() -> bool:
    """End a request's transaction that was declared read-first (database.reading_first) and
    has only read, before slow work that needs no database (checking a password hash takes
    ~0.2 s of CPU): the next query opens a new transaction, for writing.

    On SQLite a form's transaction holds the write lock from its first query; held through a
    hash, 50 people signing in at once would queue for seconds. Objects read before are
    reloaded when next used. Does nothing anywhere else (commands, tasks, other forms), or
    once something was written or queued. True when it ended the transaction: what was read
    may have changed since, and a caller that acts on it must read it again.
    """
    from clerkship import database

    if not database.reading_first_declared():
        return False
    session = db.session
    if session.new or session.dirty or session.deleted:
        return False
    if session.info.get(_PENDING) or session.info.get(_FLUSHED) or g.get(_REFUSALS):
        return False
    session.rollback()
    database.writing(False)  # the read is over: what comes next is the request's own
    return True


def keep_refusal(write: Callable[[Session], None]) -> None:
    """Queue a write that must happen even though the request fails (see the module doc)."""
    if has_request_context():
        g.setdefault(_REFUSALS, []).append(write)
    else:
        _write_own_transaction([write])


@contextmanager
def unit_of_work() -> Iterator[None]:
    """The boundary for CLI commands and tasks: commit the block's work, or roll it back."""
    try:
        yield
        db.session.commit()
    except BaseException:
        _roll_back()
        raise


def init_app(app: Flask) -> None:
    @app.after_request
    def commit_or_roll_back(response: Response) -> Response:
        if response.status_code >= 400 or failed():
            _roll_back()
        else:
            try:
                db.session.commit()
            except (StaleDataError, IntegrityError):
                logger.info("commit refused: a concurrent change", exc_info=True)
                response = _failed_commit(409, CONFLICT)
            except OperationalError:
                logger.warning("commit failed: database unavailable", exc_info=True)
                response = _failed_commit(503, UNAVAILABLE)
        sides = g.pop(_SIDE_WRITES, None)
        if sides and response.status_code < 400 and not failed():
            written = _write_own_transaction([lambda _session, w=w: w() for w, _ in sides])
            if not written and any(required for _, required in sides):
                response = _failed_commit(503, UNAVAILABLE)
        refusals = g.pop(_REFUSALS, None)
        if refusals:
            _write_own_transaction(refusals)
        return response

    @app.teardown_request
    def roll_back_leftovers(error: BaseException | None) -> None:
        # An exception that escaped every handler (tests propagate them): nothing is kept
        # but the refusals that must be.
        if error is not None:
            _roll_back()
            refusals = g.pop(_REFUSALS, None)
            if refusals:
                _write_own_transaction(refusals)


def _failed_commit(code: int, message: Any) -> Response:
    from clerkship.errors import late_failure

    _roll_back()
    session.pop("_flashes", None)  # the view's "Saved." is not true any more
    return late_failure(code, str(message))


def _write_own_transaction(writes: list[Callable[[Session], None]]) -> bool:
    """Whether the writes were committed, in a transaction of their own."""
    from clerkship import database

    _roll_back()  # whatever the request left open (a read) is not part of this
    database.writing()  # SQLite: wait for the write lock at BEGIN, never fail half-way
    try:
        for write in writes:
            write(db.session)
        db.session.commit()
        return True
    except Exception:
        logger.exception("could not write a refusal or a page's side write")
        _roll_back()
        return False
    finally:
        database.writing(False)


@event.listens_for(Session, "after_commit")
def _commit_done(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_DUE, []).extend(pending)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    session.info[_FLUSHED] = True


@event.listens_for(Session, "after_transaction_end")
def _run_due(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    session.info.pop(_FLUSHED, None)
    due = session.info.pop(_DUE, None)
    for callback in due or ():
        try:
            callback()
        except Exception:
            # The user's action is already committed; what follows it must not undo it.
            logger.exception("after-commit work failed: %r", callback)
