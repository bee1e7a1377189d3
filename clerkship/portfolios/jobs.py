"""Export jobs as a small state machine with leases, so that every export finishes or says why.

A document goes ``queued → running → done | failed``. A worker *claims* a queued document
(one conditional UPDATE: it becomes running, with the worker as ``lease_owner`` until
``lease_until``), renders it outside any transaction, writes the file under a name of its own
and *settles* it only if it still holds the lease. A worker killed mid-render (SIGKILL, the
OOM killer) simply never settles: its lease runs out and :func:`reap`, a periodic task, queues
the document again. Database, queue and disk errors put it back in the queue with a doubling
wait; after ``EXPORT_MAX_ATTEMPTS`` claims it fails with a reason a director can read, and the
job finishes with the rest. The job itself is packed (PDF or ZIP) under a lease the same way.

Queued rows carry a deadline too (``lease_until``): a task lost on its way through the queue
(the queue down when it was sent, a worker killed before it started) is sent again by the
reaper when it passes. Every task is idempotent: a duplicate finds nothing left to claim.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import redis.exceptions
import sqlalchemy.exc
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import CursorResult, exists, func, or_, select, update

from clerkship import dates
from clerkship.extensions import db
from clerkship.models import ExportDocument, ExportJob, ExportStatus, utcnow
from clerkship.portfolios import data as portfolio
from clerkship.portfolios import files, render
from clerkship.transactions import unit_of_work

RENDER_TRIES = 2  # a renderer that raises is tried once more at once (bad data fails fast)
FINISHED = (ExportStatus.DONE, ExportStatus.FAILED)
# Worth another try later: the database or the queue away for a while, a disk hiccup.
TRANSIENT = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)


def _setting(name: str) -> int:
    return int(current_app.config[name])


def _lease(now: datetime) -> datetime:
    return now + timedelta(seconds=_setting("EXPORT_LEASE_SECONDS"))


def new_owner() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _rowcount(statement) -> int:
    return cast(CursorResult, db.session.execute(statement)).rowcount


# --- leases: documents and packing are the same kind of leased step --------------------------


def _claim(model, where: list, **values) -> str | None:
    """Take the lease on the row of ``model`` that ``where`` picks (with ``values``) if it is
    still free; the new owner, or None when another worker has it or it is done."""
    owner = new_owner()
    with unit_of_work():
        claimed = _rowcount(
            update(model)
            .where(*where)
            .values(lease_owner=owner, lease_until=_lease(utcnow()), **values)
        )
    return owner if claimed else None


def _release(model, where: list, owner: str, values: dict) -> bool:
    """Write ``values`` and give the lease back, only while ``owner`` still holds it."""
    with unit_of_work():
        settled = _rowcount(
            update(model)
            .where(*where, model.lease_owner == owner)
            .values({"lease_owner": None, "lease_until": None} | values)
        )
    return bool(settled)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:300]}"


# --- queueing (always after the commit that made the work visible) ----------------------------


def send(task, *args) -> bool:
    """Put a task on the queue; a queue that is down is logged, not raised: the row's deadline
    is in the database, so the reaper sends it again once the queue is back."""
    try:
        task(*args)
    # Whatever the queue's failure (Redis, its SQLite file, a full disk), the work is safe in
    # the database and the reaper sends it again; the request that asked must not fail.
    except Exception as error:
        name = getattr(getattr(task, "func", task), "__name__", task)
        current_app.logger.warning("export: could not queue %s%s: %s", name, args, error)
        return False
    return True


def queue_job(job_id: int) -> bool:
    from clerkship import tasks

    return send(tasks.run_export, job_id)


def _queue_documents(document_ids: list[int]) -> None:
    from clerkship import tasks

    for document_id in document_ids:
        send(tasks.render_document, document_id)


def _queue_pack(job_id: int) -> None:
    from clerkship import tasks

    send(tasks.pack_export, job_id)


# --- starting: reuse unchanged portfolios, hand the rest to render workers --------------------


def start(job_id: int) -> None:
    """Take a queued job (once) and queue its documents; each render task reuses an unchanged
    portfolio itself (:func:`_produce`). Nothing per student happens here: on SQLite every
    transaction holds the write lock, and reading 150 portfolios in one would lock the web
    app out for seconds ("database is locked")."""
    now = utcnow()
    with unit_of_work():
        claimed = _rowcount(
            update(ExportJob)
            .where(ExportJob.id == job_id, ExportJob.status == ExportStatus.QUEUED)
            .values(
                status=ExportStatus.RUNNING, started_at=now, lease_until=None, lease_owner=None
            )
        )
        to_render = db.session.scalars(
            select(ExportDocument.id).where(
                ExportDocument.job_id == job_id, ExportDocument.status == ExportStatus.QUEUED
            )
        ).all()
        if claimed and to_render:
            db.session.execute(
                update(ExportDocument)
                .where(ExportDocument.id.in_(to_render))
                .values(lease_until=_lease(now))
            )
    if not claimed:
        return
    if to_render:
        _queue_documents(list(to_render))
    else:
        pack(job_id)


REUSED_FIELDS = ("cache_key", "content_hash", "file_hash", "pages", "path", "issued_at")


def _reused_values(cached: ExportDocument, stamp: str | None) -> dict:
    return {name: getattr(cached, name) for name in REUSED_FIELDS} | {
        "reused_id": cached.id,
        "records_stamp": stamp,
        "status": ExportStatus.DONE,
        "lease_owner": None,
        "lease_until": None,
        "error": None,
    }


def records_stamp() -> str | None:
    """What a portfolio is made from, short of reading it: the records token (no record a
    portfolio shows has changed while it stays the same), the signing keys (they decide
    whether each signature verifies) and the code. ``None`` when the token is unknown."""
    from clerkship import page_cache, signing_keys

    token = page_cache.records_version()
    if token is None:
        return None
    ring = signing_keys.ring()
    keys = ",".join([ring.kid, *sorted(ring.public)])
    return hashlib.sha256(f"{token}|{keys}|{render.code_fingerprint()}".encode()).hexdigest()


def _unchanged(document: ExportDocument, job: ExportJob, stamp: str | None):
    """The file of an earlier export of this student, same period, made under ``stamp``."""
    if stamp is None:
        return None
    earlier = db.session.scalars(
        select(ExportDocument)
        .join(ExportJob, ExportDocument.job_id == ExportJob.id)
        .where(
            ExportDocument.student_id == document.student_id,
            ExportDocument.records_stamp == stamp,
            ExportDocument.status == ExportStatus.DONE,
            ExportDocument.id != document.id,
            ExportJob.period_start.is_not_distinct_from(job.period_start),
            ExportJob.period_end.is_not_distinct_from(job.period_end),
        )
        .order_by(ExportDocument.id.desc())
        .limit(3)
    )
    for row in earlier:
        made = row.reused or row
        if made.path and (files.export_dir() / made.path).is_file():
            return made
    return None


def _cached(cache_key: str) -> ExportDocument | None:
    """An earlier rendering of exactly this content whose file is still there."""
    rows = db.session.scalars(
        select(ExportDocument)
        .where(
            ExportDocument.cache_key == cache_key,
            ExportDocument.status == ExportStatus.DONE,
            ExportDocument.reused_id.is_(None),
        )
        .order_by(ExportDocument.id.desc())
    )
    for row in rows:
        if row.path and (files.export_dir() / row.path).is_file():
            return row
    return None


# --- one document ------------------------------------------------------------------------------


def render_document(document_id: int) -> None:
    """Claim, render, settle one document; a duplicate or late task does nothing."""
    owner = _claim(
        ExportDocument,
        [ExportDocument.id == document_id, ExportDocument.status == ExportStatus.QUEUED],
        status=ExportStatus.RUNNING,
        attempts=ExportDocument.attempts + 1,
    )
    if owner is None:
        return
    with unit_of_work():
        document = db.session.get_one(ExportDocument, document_id)
        job_id, attempt = cast(int, document.job_id), document.attempts
    written = None
    try:
        outcome = _produce(document_id)
        written = outcome.get("path") if outcome.get("reused_id") is None else None
        settled = _settle(document_id, owner, outcome)
    except files.FolderError as problem:
        files.remove(written)
        settled = _settle(document_id, owner, _failed(problem.reason))
    except TRANSIENT as error:
        files.remove(written)
        current_app.logger.warning("export document %s: %s", document_id, _describe(error))
        _try_later(document_id, owner, attempt, error)
        return
    if not settled:  # the lease ran out and another worker has it now: its file, not ours
        files.remove(written)
        return
    _count(job_id)


def _produce(document_id: int) -> dict:
    """The new values of a rendered (or reused) document; no transaction is held meanwhile."""
    with unit_of_work():
        document = db.session.get_one(ExportDocument, document_id)
        job = document.job
        if job is None:  # documents are made with their job (service.start_export)
            raise LookupError(f"export document {document.id} has no job")
        public_id, attempt = document.public_id, document.attempts
        stamp = records_stamp()  # first: the records read below are at least as new
        unchanged = _unchanged(document, job, stamp)
        if unchanged is not None:  # no record changed since: not even read again
            return _reused_values(unchanged, stamp)
        data = portfolio.portfolio_data(
            document.student, start=job.period_start, end=job.period_end
        )
        key = render.cache_key(data)
        cached = _cached(key)
        reused = _reused_values(cached, stamp) if cached is not None else None
    if reused is not None:
        return reused
    issued = utcnow()
    error = None
    for _try in range(RENDER_TRIES):
        try:
            result = render.render_pdf(data, public_id, dates.show_datetime(issued))
        # One student's failure must not stop the rest; a refused resource aborts only this.
        except (Exception, render.RefusedResource) as failure:
            error = _describe(failure)
            current_app.logger.warning("portfolio %s: render failed: %s", public_id, error)
            continue
        # A name of this attempt's own: a worker that lost its lease can never overwrite it.
        relative = Path("documents") / f"{public_id}.{attempt}.pdf"
        files.write_bytes(relative, result.pdf)
        return {
            "status": ExportStatus.DONE,
            "path": str(relative),
            "cache_key": key,
            "records_stamp": stamp,
            "content_hash": result.content_hash,
            "file_hash": result.file_hash,
            "pages": result.pages,
            "issued_at": issued,
            "error": None,
        }
    return _failed(error)


def _failed(reason: str | None) -> dict:
    return {"status": ExportStatus.FAILED, "error": reason, "path": None}


def _settle(document_id: int, owner: str, values: dict) -> bool:
    return _release(
        ExportDocument,
        [ExportDocument.id == document_id, ExportDocument.status == ExportStatus.RUNNING],
        owner,
        values,
    )


def _try_later(document_id: int, owner: str, attempt: int, error: BaseException) -> None:
    """Back to the queue with a doubling wait, or failed after the last attempt. With the
    database itself away this write fails too: then the lease runs out and the reaper acts."""
    now = utcnow()
    if attempt >= _setting("EXPORT_MAX_ATTEMPTS"):
        values = _failed(gave_up_reason(attempt, _describe(error)))
    else:
        wait = _setting("EXPORT_RETRY_SECONDS") * 2 ** (attempt - 1)
        values = {
            "status": ExportStatus.QUEUED,
            "lease_until": now + timedelta(seconds=wait),
            "error": _describe(error),
        }
    try:
        released = _settle(document_id, owner, values)
    except TRANSIENT:
        return
    if released and values["status"] is ExportStatus.FAILED:
        with unit_of_work():
            job_id = cast(int, db.session.get_one(ExportDocument, document_id).job_id)
        _count(job_id)


def gave_up_reason(attempts: int, last_error: str | None) -> str:
    return _(
        "Not rendered after %(n)d attempts (the server or its database was unavailable). "
        "Start the export again later; if it keeps failing, tell your administrator.",
        n=attempts,
    ) + (f" [{last_error}]" if last_error else "")


def _count(job_id: int) -> None:
    """Progress from the documents themselves (duplicates never count twice); pack when
    the last one is finished."""
    finished = (
        select(func.count(ExportDocument.id))
        .where(ExportDocument.job_id == job_id, ExportDocument.status.in_(FINISHED))
        .scalar_subquery()
    )
    with unit_of_work():
        db.session.execute(update(ExportJob).where(ExportJob.id == job_id).values(done=finished))
        finished_all = _all_finished(job_id)
    if finished_all:
        pack(job_id)


def _unfinished(job_id):
    return exists().where(ExportDocument.job_id == job_id, ExportDocument.status.not_in(FINISHED))


def _all_finished(job_id: int) -> bool:
    return not db.session.scalar(select(_unfinished(job_id)))


# --- packing the result ------------------------------------------------------------------------


def file_name(document: ExportDocument) -> str:
    """Named with the id the PDF itself carries (the first issue's, for a reused one)."""
    safe = "".join(ch if ch.isalnum() else "-" for ch in document.student.name).strip("-")
    return f"{safe or 'student'}-{printed_id(document)}.pdf"


def printed_id(document: ExportDocument) -> str:
    return document.reused.public_id if document.reused else document.public_id


def pack(job_id: int) -> None:
    """Pack the result once every document is finished; leased, so safe to call many times."""
    owner = _claim(
        ExportJob,
        [
            ExportJob.id == job_id,
            ExportJob.status == ExportStatus.RUNNING,
            or_(ExportJob.lease_until.is_(None), ExportJob.lease_until < utcnow()),
            ~_unfinished(job_id),
        ],
    )
    if owner is None:
        return
    try:
        with unit_of_work():
            plan = _plan(db.session.get_one(ExportJob, job_id))
        values = _packed(plan)
    except files.FolderError as problem:
        values = {"status": ExportStatus.FAILED, "error": problem.reason, "result_path": None}
    except TRANSIENT as error:
        current_app.logger.warning("export job %s: packing: %s", job_id, _describe(error))
        wait = timedelta(seconds=_setting("EXPORT_RETRY_SECONDS"))
        _settle_job(job_id, owner, {"lease_until": utcnow() + wait})
        return
    _settle_job(job_id, owner, values | {"finished_at": utcnow()})


def _settle_job(job_id: int, owner: str, values: dict) -> None:
    # Rolled back when the database is away: the lease runs out and the reaper packs it again.
    with contextlib.suppress(*TRANSIENT):
        _release(ExportJob, [ExportJob.id == job_id], owner, values)


def _plan(job: ExportJob) -> dict:
    """What to pack, read in one short transaction (the files are written after it)."""
    from clerkship.portfolios.service import index_csv

    documents = job.documents
    good = [d for d in documents if d.status is ExportStatus.DONE and d.path]
    failed = [d for d in documents if d.status is not ExportStatus.DONE]
    error = None
    if failed:
        error = "; ".join(f"{d.student.name}: {d.error or _('not rendered')}" for d in failed)
    elif not good:
        error = _("Nothing could be rendered.")
    return {
        "folder": Path("jobs") / str(job.id),
        "zip_name": f"portfolios-job-{job.id}.zip",
        "single": job.student_id is not None,
        "files": [(str(d.path), file_name(d)) for d in good],
        "index": index_csv(documents),
        "error": error,
    }


def _packed(plan: dict) -> dict:
    base = files.export_dir()
    good = plan["files"]
    files.remove_temporaries(plan["folder"])  # a killed packer's half-written ZIP
    target = None
    if plan["single"] and good:
        target = files.copy(base / good[0][0], plan["folder"] / good[0][1])
    elif good:
        target = files.write_zip(
            plan["folder"] / plan["zip_name"],
            [(base / path, name) for path, name in good],
            {"index.csv": plan["index"]},
            pause=float(current_app.config["EXPORT_PACK_DELAY_SECONDS"]),
        )
    return {
        "status": ExportStatus.DONE if good else ExportStatus.FAILED,
        "result_path": str(target.relative_to(base)) if target else None,
        "error": plan["error"],
    }


# --- the reaper ----------------------------------------------------------------------------------


def _requeue_expired(now: datetime, lease: datetime, limit: int) -> tuple[list[int], set]:
    expired = db.session.scalars(
        select(ExportDocument).where(
            ExportDocument.status.in_([ExportStatus.QUEUED, ExportStatus.RUNNING]),
            ExportDocument.lease_until < now,
        )
    ).all()
    to_render, touched_jobs = [], set()
    for document in expired:
        if document.status is ExportStatus.RUNNING and document.attempts >= limit:
            document.status = ExportStatus.FAILED
            document.error = gave_up_reason(document.attempts, document.error)
            document.lease_owner = document.lease_until = None
            touched_jobs.add(document.job_id)
            continue
        if document.status is ExportStatus.RUNNING:  # its worker died: the lease ran out
            current_app.logger.warning(
                "export document %s: lease of %s expired; queued again",
                document.id,
                document.lease_owner,
            )
        document.status = ExportStatus.QUEUED
        document.lease_owner = None
        document.lease_until = lease
        to_render.append(document.id)
    return to_render, touched_jobs


def reap(now: datetime | None = None) -> dict[str, int]:
    """Send again whatever waits past its deadline; fail what has used up its attempts.

    Runs every minute from the queue (``tasks.reap_exports``). Commits first and queues after,
    so a task never points at work the database does not show.
    """
    now = now or utcnow()
    lease = _lease(now)
    limit = _setting("EXPORT_MAX_ATTEMPTS")
    with unit_of_work():
        to_render, touched_jobs = _requeue_expired(now, lease, limit)
        unstarted = db.session.scalars(
            select(ExportJob.id).where(
                ExportJob.status == ExportStatus.QUEUED,
                or_(ExportJob.lease_until.is_(None), ExportJob.lease_until < now),
            )
        ).all()
        if unstarted:
            db.session.execute(
                update(ExportJob).where(ExportJob.id.in_(unstarted)).values(lease_until=lease)
            )
    for job_id in touched_jobs:
        _count(cast(int, job_id))
    with unit_of_work():
        to_pack = db.session.scalars(
            select(ExportJob.id).where(
                ExportJob.status == ExportStatus.RUNNING,
                or_(ExportJob.lease_until.is_(None), ExportJob.lease_until < now),
                ~_unfinished(ExportJob.id),
            )
        ).all()
        if to_pack:  # a packer that died: its lease is void, the next pack_export may claim it
            db.session.execute(
                update(ExportJob)
                .where(ExportJob.id.in_(to_pack), ExportJob.lease_until < now)
                .values(lease_owner=None, lease_until=None)
            )
    for job_id in unstarted:
        queue_job(job_id)
    _queue_documents(to_render)
    for job_id in to_pack:
        _queue_pack(job_id)
    return {"started": len(unstarted), "queued": len(to_render), "packed": len(to_pack)}
