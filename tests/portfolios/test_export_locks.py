"""An export never locks the web app out of the database (SQLite: every transaction is
``BEGIN IMMEDIATE``, so a long one, even a read, makes every other writer wait).

A second connection, as the web app or the other worker would, keeps writing while an
export starts and while a document renders; none of its writes may wait more than a moment.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import flask_migrate
import pytest
from sqlalchemy import select

from clerkship import create_app, demo, tasks
from clerkship.extensions import db as _db
from clerkship.models import Cohort, ExportDocument, ExportJob, Program
from clerkship.portfolios import data as portfolio
from clerkship.portfolios import jobs, render, service
from tests.conftest import test_config
from tests.databases import fresh_database

SLOW = 1.5  # seconds a slowed portfolio read or render takes here
MOMENT = 1.0  # longest a write from another connection may wait (a busy 2-core box)


def _longest_wait(url: str, work) -> float:
    """Run ``work`` in a thread while this one writes every 20 ms; the longest wait."""
    path = url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, timeout=30, isolation_level=None)
    thread = threading.Thread(target=work)
    waits = []
    thread.start()
    try:
        while thread.is_alive():
            started = time.perf_counter()
            other.execute("BEGIN IMMEDIATE")
            waits.append(time.perf_counter() - started)
            other.execute("UPDATE program SET name = name WHERE id = -1")
            other.execute("COMMIT")
            time.sleep(0.02)
    finally:
        thread.join()
        other.close()
    assert waits, "the work ended before any write was tried"
    return max(waits)


@pytest.fixture
def export(tmp_path):
    """A 4-student cohort export, committed and not started yet."""
    with fresh_database("locks") as url:
        if not url.startswith("sqlite:///"):
            pytest.skip("SQLite's database-wide write lock")
        app = create_app(test_config(url, EXPORT_DIR=str(tmp_path / "exports")))
        with app.app_context():
            flask_migrate.upgrade()
            demo.build_demo_year(students=4)
            _db.session.commit()
            tasks.huey.flush()
            director = _db.session.scalar(select(Program)).directors[0]
            job = service.start_export(director, cohort=_db.session.scalar(select(Cohort)))
            _db.session.commit()
            job_id = job.id
            _db.session.remove()
        yield app, url, job_id
        tasks.huey.flush()
        with app.app_context():
            _db.engine.dispose()


def _slowed(monkeypatch, module, name: str) -> None:
    original = getattr(module, name)

    def slow(*args, **kwargs):
        time.sleep(SLOW)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)


def _in_app(app, function, *args):
    def run():
        with app.app_context():
            try:
                function(*args)
            finally:
                _db.session.remove()

    return run


def test_starting_a_cohort_export_does_not_lock_out_other_writers(export, monkeypatch):
    app, url, job_id = export
    _slowed(monkeypatch, portfolio, "portfolio_data")  # 4 students: 6 s in all
    waited = _longest_wait(url, _in_app(app, jobs.start, job_id))
    assert waited < MOMENT, f"a write waited {waited:.2f} s while the export started"
    with app.app_context():
        assert _db.session.get_one(ExportJob, job_id).status.value == "running"


def test_a_render_in_progress_does_not_lock_out_other_writers(export, monkeypatch):
    app, url, job_id = export
    _slowed(monkeypatch, render, "render_pdf")  # rendering and PAdES signing
    with app.app_context():
        jobs.start(job_id)
        document_id = _db.session.scalars(
            select(ExportDocument.id).where(ExportDocument.job_id == job_id)
        ).first()
        _db.session.remove()
    waited = _longest_wait(url, _in_app(app, jobs.render_document, document_id))
    assert waited < MOMENT, f"a write waited {waited:.2f} s during a render"
    with app.app_context():
        assert _db.session.get_one(ExportDocument, document_id).status.value == "done"
