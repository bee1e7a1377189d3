"""Faults injected into real worker processes: SIGKILL mid-render, one worker and all at once.

A 12-student cohort export through a real Huey consumer (SQLite queue by default, Redis when
REDIS_URL is set; SQLite or PostgreSQL per TEST_DATABASE_URL). Nobody touches the job after
starting it: the reaper the consumer runs every minute brings it home. Bounded: the whole
test gives up after RECOVERY_LIMIT seconds past the restart. Prints the recovery time.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import signal
import tempfile
import time
import zipfile
from pathlib import Path

import flask_migrate
import pytest
from flask import current_app
from sqlalchemy import select

from clerkship import create_app, demo, tasks
from clerkship.extensions import db as _db
from clerkship.models import Cohort, ExportDocument, ExportJob, ExportStatus, Program
from clerkship.portfolios import files, service
from tests import databases
from tests.conftest import IsolatedClient, test_config
from tests.databases import fresh_database, private_postgres
from tests.portfolios.conftest import start_consumer, stop_consumer, worker_env

RECOVERY_LIMIT = 180  # the bound: done within 3 minutes after a worker runs again
LEASE_SECONDS = 15


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _poll(predicate, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        _db.session.rollback()  # never hold the database while the workers write
        if value:
            return value
        time.sleep(step)
    return None


def _running_owner_pids(job_id: int) -> list[int]:
    owners = _db.session.scalars(
        select(ExportDocument.lease_owner).where(
            ExportDocument.job_id == job_id, ExportDocument.status == ExportStatus.RUNNING
        )
    ).all()
    return [int(owner.split(":")[1]) for owner in owners if owner]


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _kill_all(consumer) -> None:
    """Every process at once (consumer and workers), as a crash or the OOM killer would."""
    for pid in [*_children(consumer.pid), consumer.pid]:
        _kill(pid)
    consumer.wait()


def _finished_status(job_id: int):
    """Polled until the job is done or failed, at most RECOVERY_LIMIT seconds."""
    return _poll(
        lambda: _db.session.scalar(
            select(ExportJob.status).where(
                ExportJob.id == job_id,
                ExportJob.status.in_([ExportStatus.DONE, ExportStatus.FAILED]),
            )
        ),
        RECOVERY_LIMIT,
        step=0.5,
    )


def _assert_complete_and_verifies(job: ExportJob, students: int) -> None:
    """Done, whole, every PDF's id verifying with its hash; no partial file left anywhere."""
    assert job.status is ExportStatus.DONE, job.error
    assert job.done == job.total == students and job.error is None
    bundle = zipfile.ZipFile(io.BytesIO(service.result_file(job).read_bytes()))
    assert bundle.testzip() is None
    pdfs = [n for n in bundle.namelist() if n.endswith(".pdf")]
    assert len(pdfs) == students
    for name in pdfs:
        issued = service.verify(name.removesuffix(".pdf")[-19:])
        assert issued is not None, name
        assert hashlib.sha256(bundle.read(name)).hexdigest() == issued.file_hash
    folder = Path(files.export_dir()) / "jobs" / str(job.id)
    assert [p.name for p in folder.iterdir()] == [Path(job.result_path).name]


@contextlib.contextmanager
def _cohort_export(url: str, tmp_path: Path, students: int, **settings):
    """A migrated database with a demo cohort and its export started (not yet taken by any
    worker); yields ``(job_id, worker environment, worker log)``."""
    export_dir = str(tmp_path / "exports")
    with tempfile.TemporaryDirectory(prefix="clerkship-worker-") as instance:
        app = create_app(test_config(url, EXPORT_DIR=export_dir, PROPAGATE_EXCEPTIONS=False))
        app.test_client_class = IsolatedClient
        env = worker_env(url, export_dir, instance, EXPORT_LEASE_SECONDS=LEASE_SECONDS, **settings)
        log_path = Path(instance) / "worker.log"
        with app.app_context(), log_path.open("w") as log:
            flask_migrate.upgrade()
            demo.build_demo_year(students=students)
            _db.session.commit()
            tasks.huey.flush()
            director = _db.session.scalar(select(Program)).directors[0]
            job_id = service.start_export(director, cohort=_db.session.scalar(select(Cohort))).id
            _db.session.commit()
            assert _db.session.get_one(ExportJob, job_id).total == students
            tasks.run_export(job_id)
            try:
                yield job_id, env, log
            finally:
                print(log_path.read_text()[-5000:])
                _db.session.remove()
                _db.engine.dispose()


PACK_DELAY = 0.25  # seconds before each ZIP entry: a 3 s window to kill the packer in


def test_sigkill_mid_render_then_while_packing_the_zip_the_export_still_completes(tmp_path):
    """Killed three times, as the OOM killer or a crash would: one worker mid-render, then
    every process mid-render, then every process while the ZIP is half written. Each time
    the leases run out and the reaper brings the job on; no partial file is left behind."""
    with (
        fresh_database("faults") as url,
        _cohort_export(url, tmp_path, students=12, EXPORT_PACK_DELAY_SECONDS=PACK_DELAY) as (
            job_id,
            env,
            log,
        ),
    ):
        zip_folder = Path(files.export_dir()) / "jobs" / str(job_id)
        consumer = start_consumer(env, log)
        try:
            # 1. One worker: the one holding a render lease.
            victims = _poll(lambda: _running_owner_pids(job_id), 60)
            assert victims, "no render started"
            _kill(victims[0])
            # 2. Then every process at once (consumer and workers), mid-render.
            again = _poll(lambda: _running_owner_pids(job_id), 60)
            assert again, "no render after the first kill"
            _kill_all(consumer)
            killed = _db.session.scalar(select(ExportJob.done).where(ExportJob.id == job_id))
            _db.session.rollback()
            assert killed < 12
            restarted = time.monotonic()
            consumer = start_consumer(env, log)
            # 3. Every render finished again: every process killed while packing the ZIP.
            partial = _poll(lambda: list(zip_folder.glob(f"*{files.TEMP_MARK}*")), RECOVERY_LIMIT)
            rendered = time.monotonic() - restarted
            assert partial, "packing never started"
            _kill_all(consumer)
            job = _db.session.get_one(ExportJob, job_id)
            assert job.status is ExportStatus.RUNNING and job.lease_owner  # killed mid-pack
            assert job.done == 12 and job.result_path is None
            assert all(p.exists() for p in partial)  # the half-written ZIP the kill left
            _db.session.rollback()
            restarted = time.monotonic()
            consumer = start_consumer(env, log)
            finished = _finished_status(job_id)
            packed = time.monotonic() - restarted
        finally:
            stop_consumer(consumer)
        print(f"all rendered {rendered:.0f} s after the mid-render restart ({killed}/12 then)")
        print(f"packed {packed:.0f} s after the mid-pack restart")
        job = _db.session.get_one(ExportJob, job_id)
        assert finished is ExportStatus.DONE, job.error
        assert rendered < RECOVERY_LIMIT and packed < RECOVERY_LIMIT
        _assert_complete_and_verifies(job, 12)
        assert max(d.attempts for d in job.documents) >= 2  # some were rendered again
        # A render killed mid-write leaves at most a temp file, never a partial PDF.
        for path in (Path(files.export_dir()) / "documents").iterdir():
            if files.TEMP_MARK not in path.name:
                assert path.read_bytes().rstrip().endswith(b"%%EOF"), path.name


OUTAGE_SECONDS = 20


@pytest.mark.skipif(
    databases.kind() != "postgresql",
    reason="the PostgreSQL stage runs it (its own private server; once per CI run is enough)",
)
def test_database_down_20_seconds_mid_export_pages_say_503_and_the_export_completes(tmp_path):
    """A PostgreSQL server of the test's own, stopped (immediate shutdown) while portfolios
    render and started again 20 s later: pages meanwhile show the app's 503 page; the
    export then completes by itself, every PDF verifying."""
    with (
        private_postgres() as server,
        _cohort_export(server.url, tmp_path, students=4) as (job_id, env, log),
    ):
        consumer = start_consumer(env, log)
        try:
            assert _poll(lambda: _running_owner_pids(job_id), 60), "no render started"
            _db.session.remove()
            _db.engine.dispose()
            server.stop()
            down = time.monotonic()
            client = current_app.test_client()
            for method, path in (
                ("get", "/verify?id=ABCD-EFGH-IJKL-MNOP"),
                ("post", "/sign-in"),
            ):
                response = getattr(client, method)(
                    path, data={"email": "a@b.org", "password": "x"}
                )
                assert response.status_code == 503, path
                assert "Clerkship is briefly unavailable" in response.get_data(as_text=True)
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down)))
            server.start()
            back = time.monotonic()
            _db.engine.dispose()
            finished = _finished_status(job_id)
            recovery = time.monotonic() - back
        finally:
            stop_consumer(consumer)
        print(f"export done {recovery:.0f} s after the database came back")
        job = _db.session.get_one(ExportJob, job_id)
        assert finished is ExportStatus.DONE, job.error
        _assert_complete_and_verifies(job, 4)
