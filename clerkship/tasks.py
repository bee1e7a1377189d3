"""The task queue (Huey): portfolio rendering and e-mail over SMTP run here, in workers.

With ``REDIS_URL`` set, the queue lives in Redis, so workers on several machines share it.
Without it, an embedded SQLite queue file in the instance folder needs no broker at all.
Start a worker with::

    .venv/bin/huey_consumer clerkship.tasks.huey --workers 2 --worker-type process

(``make run`` starts one beside the web server.) Workers read the same environment as the
web app (``DATABASE_URL``, ``CLERKSHIP_INSTANCE_PATH``, …) and build their own app from it.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import current_app, has_app_context
from huey import RedisHuey, SqliteHuey, crontab

from clerkship import collector

ROOT = Path(__file__).resolve().parents[1]


def _make_huey():
    if os.environ.get("REDIS_URL"):
        return RedisHuey("clerkship", url=os.environ["REDIS_URL"])
    path = os.environ.get("CLERKSHIP_QUEUE_PATH")
    if not path:
        instance = Path(os.environ.get("CLERKSHIP_INSTANCE_PATH") or ROOT / "instance")
        instance.mkdir(parents=True, exist_ok=True)
        path = str(instance / "queue.sqlite3")
    return SqliteHuey("clerkship", filename=path)


huey = _make_huey()
_worker_app = None


def _app():
    """Inside a request (immediate mode in tests) use that app; a worker builds its own."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from clerkship import create_app

        _worker_app = create_app()
        freeze_startup_objects()
    return _worker_app


def freeze_startup_objects() -> None:
    """Spare a worker's garbage collector the objects it loads once (the app, WeasyPrint and
    the rest of its code): clerkship.collector. A render allocates many boxes that live as
    long as its layout: with the default settings the collector rescanned ~300,000
    long-lived objects every few documents and ran 70 young collections per render, a sixth
    of a document's CPU (0.23 s of 1.4 s; 0.05 s after this)."""
    from clerkship.portfolios import render  # noqa: F401 - loaded now, so frozen with the rest

    collector.freeze_loaded()


def _in_app(function, *args):
    app = _app()
    if has_app_context():
        return function(*args)
    with app.app_context():
        return function(*args)


# Exports: each task is idempotent and leased (portfolios/jobs.py); a lost one is sent again
# by reap_exports, so none has retries of its own.
@huey.task()
def run_export(job_id: int) -> None:
    from clerkship.portfolios import jobs

    _in_app(jobs.start, job_id)


@huey.task()
def render_document(document_id: int) -> None:
    from clerkship.portfolios import jobs

    _in_app(jobs.render_document, document_id)


@huey.task()
def pack_export(job_id: int) -> None:
    from clerkship.portfolios import jobs

    _in_app(jobs.pack, job_id)


# Periodic tasks run once across machines: every consumer's scheduler enqueues them, and a
# database lock (clerkship/locks.py) lets one run while the others skip.
def _once(name: str, function, *args):
    from clerkship import locks

    def guarded():
        with locks.held(name) as mine:
            return function(*args) if mine else None

    return _in_app(guarded)


@huey.periodic_task(crontab(minute="*"))
def reap_exports() -> None:
    from clerkship.portfolios import jobs

    _once("reap-exports", jobs.reap)
    # Huey's scheduler ticks once a minute: a shorter EXPORT_REAP_SECONDS schedules the rest of
    # this minute's runs now (each tick schedules its own minute only, so runs never pile up).
    every = int(_app().config["EXPORT_REAP_SECONDS"])
    for delay in range(every, 60, every) if 0 < every < 60 else ():
        reap_exports_again.schedule(delay=delay)


@huey.task()
def reap_exports_again() -> None:
    from clerkship.portfolios import jobs

    _once("reap-exports", jobs.reap)


@huey.task(retries=3, retry_delay=120)
def send_email(raw: bytes) -> None:
    """One e-mail to the SMTP server (a mail server that is down is tried again later)."""
    import email
    import email.policy

    from clerkship import mail

    message = email.message_from_bytes(raw, policy=email.policy.default)
    mail.deliver(_app(), message)


@huey.periodic_task(crontab(minute="0"))
def send_daily_digests() -> None:
    """Hourly: each person's digest goes from 07:00 in their program's time zone, once."""
    from clerkship.reminders import service as reminders

    _once("daily-digests", reminders.send_daily, None, reminders.DIGEST_HOUR)


@huey.periodic_task(crontab(hour="3", minute="41"))
def clean_old_sessions() -> None:
    from clerkship import submissions
    from clerkship.auth import sessions
    from clerkship.transactions import unit_of_work

    def prune():
        with unit_of_work():
            sessions.prune()
            submissions.prune()

    _once("clean-old-sessions", prune)


@huey.periodic_task(crontab(minute="17"))
def clean_old_exports() -> None:
    from clerkship.portfolios import service

    _once("clean-old-exports", service.cleanup)


@huey.periodic_task(crontab(minute="23"))
def expire_pending_imports() -> None:
    """Previewed roster files left behind (never confirmed or cancelled) are deleted."""
    from clerkship.roster import pending

    _once("expire-pending-imports", pending.expire)
