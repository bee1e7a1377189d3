"""Exports that always finish or say why: lost work, dead workers, a queue or disk that fails.

These run in-process (immediate queue); the reaper is called with a clock moved past the
leases, as the periodic task would find them. The real-process versions (SIGKILL of workers)
are in test_export_faults.py.
"""

from __future__ import annotations

import contextlib
import errno
import io
import re
import subprocess
import zipfile
from datetime import timedelta

import pytest
from huey import RedisHuey
from sqlalchemy import select

from clerkship import tasks
from clerkship.models import Cohort, ExportDocument, ExportJob, ExportStatus, utcnow
from clerkship.portfolios import files, jobs, render
from tests.portfolios.test_exports import _html, login


class WorkerKilled(BaseException):
    """Stands for SIGKILL inside one process: nothing after it runs, no handler sees it."""


def _later(app, leases: float = 1.5):
    return utcnow() + timedelta(seconds=leases * app.config["EXPORT_LEASE_SECONDS"])


def _job(db) -> ExportJob:
    db.session.expire_all()
    return db.session.scalars(select(ExportJob).order_by(ExportJob.id.desc())).first()


def _pdf_ids(client, job: ExportJob) -> list[tuple[str, bytes]]:
    download = client.get(f"/exports/{job.id}/download")
    bundle = zipfile.ZipFile(io.BytesIO(download.data))
    download.close()
    out = []
    for name in bundle.namelist():
        if name.endswith(".pdf"):
            found = re.search(r"([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})\.pdf$", name)
            assert found, name
            out.append((found.group(1), bundle.read(name)))
    return out


def test_a_render_lost_mid_export_is_queued_again_and_the_job_finishes(
    app, client, db, demo_year, immediate_queue
):
    cohort = db.session.scalar(select(Cohort))
    victim = demo_year["student02"]
    original = render.render_pdf

    def dies_once(data, *args, **kwargs):
        if data["student"]["id"] == victim.id and not dies_once.done:
            dies_once.done = True
            raise WorkerKilled
        return original(data, *args, **kwargs)

    dies_once.done = False
    render.render_pdf = dies_once
    try:
        login(client, demo_year["director"])
        with pytest.raises(WorkerKilled):
            client.post(f"/cohorts/{cohort.id}/export")
    finally:
        render.render_pdf = original
    job = _job(db)
    statuses = {d.student_id: d.status for d in job.documents}
    assert statuses[victim.id] is ExportStatus.RUNNING  # leased to a worker that is gone
    assert job.status is ExportStatus.RUNNING and job.done < job.total
    assert jobs.reap() == {"started": 0, "queued": 0, "packed": 0}  # leases still running

    with app.app_context():
        outcome = jobs.reap(_later(app))
    assert outcome["queued"] >= 1
    job = _job(db)
    assert job.status is ExportStatus.DONE, job.error
    assert job.done == job.total == 3 and job.error is None
    victim_document = next(d for d in job.documents if d.student_id == victim.id)
    assert victim_document.attempts == 2
    for public_id, _pdf in _pdf_ids(client, job):
        assert client.get(f"/verify?id={public_id}").status_code == 200


def test_transient_errors_are_retried_then_fail_with_a_reason_and_the_job_finishes(
    app, client, db, demo_year, immediate_queue, monkeypatch
):
    cohort = db.session.scalar(select(Cohort))
    victim = demo_year["student03"]
    victim_ids: set[str] = set()
    original_render, original_write = render.render_pdf, files.write_bytes

    def remember(data, public_id, *args, **kwargs):
        if data["student"]["id"] == victim.id:
            victim_ids.add(public_id)
        return original_render(data, public_id, *args, **kwargs)

    def disk_error_for_victim(relative, data):
        if any(public_id in str(relative) for public_id in victim_ids):
            raise OSError(errno.EIO, "Input/output error")
        return original_write(relative, data)

    monkeypatch.setattr(render, "render_pdf", remember)
    monkeypatch.setattr(files, "write_bytes", disk_error_for_victim)
    login(client, demo_year["director"])
    client.post(f"/cohorts/{cohort.id}/export")
    job = _job(db)
    document = next(d for d in job.documents if d.student_id == victim.id)
    assert document.status is ExportStatus.QUEUED and document.attempts == 1
    assert "Input/output error" in document.error
    assert job.status is ExportStatus.RUNNING
    # The wait doubles: not before EXPORT_RETRY_SECONDS, then 2x, 4x...
    retry = app.config["EXPORT_RETRY_SECONDS"]
    assert document.lease_until > utcnow() + timedelta(seconds=retry * 0.9)
    moment = utcnow()
    for _attempt in range(app.config["EXPORT_MAX_ATTEMPTS"] + 1):
        moment += timedelta(seconds=retry * 2**5)
        with app.app_context():
            jobs.reap(moment)
    job = _job(db)
    document = next(d for d in job.documents if d.student_id == victim.id)
    assert document.status is ExportStatus.FAILED
    assert document.attempts == app.config["EXPORT_MAX_ATTEMPTS"]
    assert "Not rendered after" in document.error
    assert job.status is ExportStatus.DONE and job.done == job.total == 3
    page = _html(client.get(f"/exports/{job.id}"))
    assert "Not rendered after" in page and victim.name in page
    assert len(_pdf_ids(client, job)) == 2
    assert not list(files.export_dir().rglob(f"*{files.TEMP_MARK}*"))


def test_a_job_that_could_not_be_queued_is_no_500_and_the_reaper_starts_it(
    app, client, db, demo_year, monkeypatch
):
    """A real Redis client on a closed port: the queue is down when the director asks."""
    cohort = db.session.scalar(select(Cohort))
    down = RedisHuey("clerkship-down", url="redis://127.0.0.1:9/0")
    monkeypatch.setattr(tasks.huey, "storage", down.storage)
    login(client, demo_year["director"])
    response = client.post(f"/cohorts/{cohort.id}/export")
    assert response.status_code == 302 and "/exports/" in response.headers["Location"]
    job = _job(db)
    assert job.status is ExportStatus.QUEUED and job.lease_until is not None
    page = _html(client.get(f"/exports/{job.id}"))
    assert "Waiting to start" in page and "Waiting for a worker" in page
    home = _html(client.get("/"))
    assert f"/exports/{job.id}" in home and "Waiting to start" in home
    monkeypatch.undo()
    tasks.huey.immediate = True
    try:
        with app.app_context():
            assert jobs.reap(_later(app))["started"] == 1
    finally:
        tasks.huey.immediate = False
    job = _job(db)
    assert job.status is ExportStatus.DONE and job.done == 3


def test_zip_entries_carry_the_id_each_pdf_carries_and_every_one_verifies(
    client, db, demo_year, immediate_queue
):
    cohort = db.session.scalar(select(Cohort))
    login(client, demo_year["director"])
    client.post(f"/cohorts/{cohort.id}/export")
    client.post(f"/cohorts/{cohort.id}/export")  # unchanged: every portfolio is reused
    job = _job(db)
    assert all(d.reused_id for d in job.documents)
    entries = _pdf_ids(client, job)
    assert len(entries) == 3
    client.post("/sign-out")
    for public_id, pdf in entries:
        response = client.post(
            "/verify",
            data={"id": public_id, "file": (io.BytesIO(pdf), "p.pdf")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 200, public_id
        assert "exactly the file that was issued" in _html(response)


@contextlib.contextmanager
def _small_folder(tmp_path, size="48k", read_only=False):
    folder = tmp_path / "exports"
    folder.mkdir()
    try:
        subprocess.run(  # noqa: S603 - fixed arguments
            ["/usr/bin/mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        if read_only:
            subprocess.run(  # noqa: S603
                ["/usr/bin/mount", "-o", "remount,ro", str(folder)], check=True
            )
        yield folder
    finally:
        subprocess.run(["/usr/bin/umount", str(folder)], check=False)  # noqa: S603


@pytest.mark.parametrize(
    ("read_only", "reason"),
    [(False, "The export folder is full"), (True, "The export folder cannot be written")],
)
def test_a_full_or_read_only_folder_fails_the_job_with_a_reason_and_leaves_no_partial_files(
    app, client, db, demo_year, immediate_queue, monkeypatch, tmp_path, read_only, reason
):
    cohort = db.session.scalar(select(Cohort))
    with _small_folder(tmp_path, read_only=read_only) as folder:
        monkeypatch.setitem(app.config, "EXPORT_DIR", str(folder))
        login(client, demo_year["director"])
        client.post(f"/cohorts/{cohort.id}/export")
        job = _job(db)
        assert job.status is ExportStatus.FAILED
        assert reason in job.error
        assert all(d.status is ExportStatus.FAILED for d in job.documents)
        assert [p for p in folder.rglob("*") if p.is_file()] == []
        page = _html(client.get(f"/exports/{job.id}"))
        assert reason in page


def test_cleanup_covers_failed_and_stuck_jobs(app, client, db, demo_year, immediate_queue):
    cohort = db.session.scalar(select(Cohort))
    login(client, demo_year["director"])
    client.post(f"/cohorts/{cohort.id}/export")
    done = _job(db)
    stuck = ExportJob(
        requested_by_id=demo_year["director"].id,
        program_id=done.program_id,
        cohort_id=cohort.id,
        status=ExportStatus.RUNNING,
        total=1,
    )
    db.session.add(stuck)
    db.session.commit()
    folder = files.export_dir() / "jobs" / str(stuck.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"partial.zip{files.TEMP_MARK}dead").write_bytes(b"PK")
    from clerkship.portfolios import service

    with app.app_context():
        service.cleanup(older_than_days=-1)
    db.session.expire_all()
    stuck = db.session.get(ExportJob, stuck.id)
    assert stuck.status is ExportStatus.FAILED and "did not finish" in stuck.error
    assert not folder.exists()
    assert db.session.get(ExportJob, done.id).result_path is None
    assert not (files.export_dir() / "jobs" / str(done.id)).exists()


def test_a_duplicate_render_task_does_nothing(app, client, db, demo_year, immediate_queue):
    student = demo_year["student01"]
    login(client, demo_year["director"])
    client.post(f"/portfolios/{student.id}/export")
    document = db.session.scalar(select(ExportDocument).order_by(ExportDocument.id.desc()))
    before = (document.status, document.attempts, document.path)
    with app.app_context():
        jobs.render_document(document.id)
        jobs.pack(document.job_id)
    db.session.expire_all()
    document = db.session.get(ExportDocument, document.id)
    assert (document.status, document.attempts, document.path) == before


def test_a_worker_lost_while_packing_the_zip_is_replaced_by_the_reaper(
    app, client, db, demo_year, immediate_queue, monkeypatch
):
    cohort = db.session.scalar(select(Cohort))
    original = files.write_zip

    def dies_while_packing(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(files, "write_zip", dies_while_packing)
    login(client, demo_year["director"])
    with pytest.raises(WorkerKilled):
        client.post(f"/cohorts/{cohort.id}/export")
    job = _job(db)
    assert job.status is ExportStatus.RUNNING and job.lease_owner  # the packer's lease
    assert job.done == job.total == 3 and job.finished_at is None
    assert not list(files.export_dir().rglob(f"*{files.TEMP_MARK}*"))
    monkeypatch.setattr(files, "write_zip", original)
    with app.app_context():
        assert jobs.reap()["packed"] == 0  # the lease still runs
        assert jobs.reap(_later(app))["packed"] == 1
    job = _job(db)
    assert job.status is ExportStatus.DONE and job.result_path
    assert len(_pdf_ids(client, job)) == 3
