"""Portfolio exports: a job per request, one document per student, rendered by workers.

The request only writes the job and its documents and enqueues it; a worker renders each
student (retrying once), counts progress on the job, and the last one to finish packs the
result: the PDF itself for one student, or a ZIP of PDFs plus ``index.csv`` for a cohort.
"""

from __future__ import annotations

import shutil
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import cast

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import CursorResult, select, update

from clerkship import audit, permissions
from clerkship.csvfile import to_csv
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.models import (
    Cohort,
    Enrollment,
    ExportDocument,
    ExportJob,
    ExportStatus,
    Program,
    User,
    utcnow,
)
from clerkship.portfolios import data as portfolio
from clerkship.portfolios import render
from clerkship.transactions import unit_of_work

ATTEMPTS = 2  # a failed render is retried once


class ExportError(DomainError):
    """The export cannot start as asked (see clerkship.domain)."""


def export_dir() -> Path:
    configured = current_app.config.get("EXPORT_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _program_of(student: User) -> Program | None:
    return db.session.scalar(
        select(Program)
        .join(Cohort, Cohort.program_id == Program.id)
        .join(Enrollment, Enrollment.cohort_id == Cohort.id)
        .where(Enrollment.student_id == student.id)
        .order_by(Cohort.start_date.desc())
        .limit(1)
    )


def check_period(start: date | None, end: date | None) -> None:
    if start and end and end < start:
        raise ExportError(_("The period cannot end before it starts."))


def start_export(
    director: User,
    *,
    student: User | None = None,
    cohort: Cohort | None = None,
    start: date | None = None,
    end: date | None = None,
) -> ExportJob:
    check_period(start, end)
    from clerkship.directory import queries as cohort_students

    program: Program | None
    if cohort is not None:
        program = cohort.program
        students = cohort_students.students_of_cohort(cohort)
    elif student is not None:
        program = _program_of(student)
        students = [student]
    else:
        raise ExportError(_("Choose a student or a cohort to export."))
    if program is None or not permissions.can_export_portfolios(director, program):
        raise ExportError(_("Only a director of the program can export portfolios."))
    if not students:
        raise ExportError(_("This cohort has no students to export."))
    job = ExportJob(
        requested_by_id=director.id,
        program_id=program.id,
        cohort_id=cohort.id if cohort else None,
        student_id=student.id if student else None,
        status=ExportStatus.QUEUED,
        total=len(students),
        done=0,
        period_start=start,
        period_end=end,
    )
    db.session.add(job)
    db.session.flush()
    for person in students:
        db.session.add(
            ExportDocument(
                job_id=job.id,
                student_id=person.id,
                public_id=render.new_document_id(),
                status=ExportStatus.QUEUED,
            )
        )
    db.session.flush()
    audit.record(
        director,
        "export.started",
        job,
        after={"students": len(students), "cohort": job.cohort_id, "student": job.student_id},
    )
    return job


# The functions below run in task workers, each step its own short transaction
# (transactions.unit_of_work): a lease or progress other workers must see at once.


def mark_running(job_id: int) -> None:
    with unit_of_work():
        db.session.execute(
            update(ExportJob)
            .where(ExportJob.id == job_id, ExportJob.status == ExportStatus.QUEUED)
            .values(status=ExportStatus.RUNNING, started_at=utcnow())
        )


def reuse_unchanged(job_id: int) -> list[int]:
    """Hand out earlier PDFs for every unchanged portfolio in one pass (one commit); return
    the documents that still need rendering. Saves a task and three commits per student."""
    with unit_of_work():
        job = db.session.get_one(ExportJob, job_id)
        to_render, reused = [], 0
        for document in job.documents:
            if document.status is not ExportStatus.QUEUED:
                continue
            data = portfolio.portfolio_data(
                document.student, start=job.period_start, end=job.period_end
            )
            cached = _cached(render.cache_key(data))
            if cached is None:
                to_render.append(document.id)
                continue
            for name in REUSED_FIELDS:
                setattr(document, name, getattr(cached, name))
            document.reused_id = cached.id
            document.status = ExportStatus.DONE
            reused += 1
    if reused:
        with unit_of_work():
            db.session.execute(
                update(ExportJob)
                .where(ExportJob.id == job_id)
                .values(done=ExportJob.done + reused)
            )
    if not to_render:
        finish(job_id)
    return to_render


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
        if row.path and (export_dir() / row.path).is_file():
            return row
    return None


def render_document(document_id: int) -> None:
    """Render one student's PDF (or reuse an identical one); never raises for a bad render.

    Three short transactions — read, then (after rendering, outside any transaction) write,
    then count — so workers never hold the database while WeasyPrint works.
    """
    with unit_of_work():
        document = db.session.get_one(ExportDocument, document_id)
        job = document.job
        if job is None:  # documents are made with their job (start_export)
            raise LookupError(f"export document {document_id} has no job")
        job_id, public_id = job.id, document.public_id
        data = portfolio.portfolio_data(
            document.student, start=job.period_start, end=job.period_end
        )
        key = render.cache_key(data)
        cached = _cached(key)
        reuse = (
            {name: getattr(cached, name) for name in REUSED_FIELDS} | {"reused_id": cached.id}
            if cached is not None
            else None
        )
        if reuse is not None:
            reuse["status"] = ExportStatus.DONE
    outcome = reuse or _render_with_retry(public_id, data, key)
    with unit_of_work():
        document = db.session.get_one(ExportDocument, document_id)
        for name, value in outcome.items():
            setattr(document, name, value)
    _count_progress(job_id)


REUSED_FIELDS = ("cache_key", "content_hash", "file_hash", "pages", "path", "issued_at")


def _render_with_retry(public_id: str, data: dict, key: str) -> dict:
    issued = utcnow()
    error = None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            result = render.render_pdf(data, public_id, issued.strftime("%Y-%m-%d %H:%M UTC"))
        # One student's failure must not stop the rest; a refused resource aborts only this.
        except (Exception, render.RefusedResource) as failure:
            error = f"{type(failure).__name__}: {str(failure)[:500]}"
            current_app.logger.warning("portfolio %s: render failed: %s", public_id, error)
            continue
        relative = Path("documents") / f"{public_id}.pdf"
        target = export_dir() / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(result.pdf)
        return {
            "status": ExportStatus.DONE,
            "attempts": attempt,
            "path": str(relative),
            "cache_key": key,
            "content_hash": result.content_hash,
            "file_hash": result.file_hash,
            "pages": result.pages,
            "issued_at": issued,
            "error": None,
        }
    return {"status": ExportStatus.FAILED, "attempts": ATTEMPTS, "error": error}


def _count_progress(job_id: int) -> None:
    with unit_of_work():
        db.session.execute(
            update(ExportJob).where(ExportJob.id == job_id).values(done=ExportJob.done + 1)
        )
    job = db.session.get_one(ExportJob, job_id)
    db.session.refresh(job)
    if job.done >= job.total:
        finish(job_id)


def _file_name(document: ExportDocument) -> str:
    safe = "".join(ch if ch.isalnum() else "-" for ch in document.student.name).strip("-")
    return f"{safe or 'student'}-{document.public_id}.pdf"


def finish(job_id: int) -> None:
    """Pack the result once every document is done; safe to call more than once."""
    with unit_of_work():
        claimed = cast(
            CursorResult,
            db.session.execute(
                update(ExportJob)
                .where(ExportJob.id == job_id, ExportJob.status != ExportStatus.DONE)
                .where(ExportJob.finished_at.is_(None))
                .values(finished_at=utcnow())
            ),
        ).rowcount
    if not claimed:
        return
    with unit_of_work():
        _pack(job_id)


def _pack(job_id: int) -> None:
    job = db.session.get_one(ExportJob, job_id)
    documents = job.documents
    good = [d for d in documents if d.status is ExportStatus.DONE and d.path]
    folder = export_dir() / "jobs" / str(job.id)
    folder.mkdir(parents=True, exist_ok=True)
    if job.student_id is not None and good:
        target = folder / _file_name(good[0])
        shutil.copyfile(export_dir() / str(good[0].path), target)
    elif good:
        target = folder / f"portfolios-job-{job.id}.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as bundle:
            for document in good:
                bundle.write(export_dir() / str(document.path), _file_name(document))
            bundle.writestr("index.csv", _index_csv(documents))
    else:
        target = None
    job.result_path = str(target.relative_to(export_dir())) if target else None
    failed = [d for d in documents if d.status is not ExportStatus.DONE]
    job.status = ExportStatus.DONE if good else ExportStatus.FAILED
    if failed:
        job.error = "; ".join(f"{d.student.name}: {d.error or 'not rendered'}" for d in failed)


def _index_csv(documents: list[ExportDocument]) -> str:
    header = ["student", "file", "document_id", "status", "pages", "content_sha256"]
    return to_csv(
        [
            header,
            *(
                [
                    d.student.name,
                    _file_name(d) if d.status is ExportStatus.DONE else "",
                    d.reused.public_id if d.reused else d.public_id,
                    d.status.value,
                    d.pages or "",
                    d.content_hash or "",
                ]
                for d in documents
            ),
        ]
    )


def result_file(job: ExportJob) -> Path | None:
    if not job.result_path:
        return None
    path = export_dir() / job.result_path
    return path if path.is_file() else None


def cleanup(older_than_days: int | None = None) -> int:
    """Delete export files older than the retention period; the records stay."""
    days = (
        older_than_days if older_than_days is not None else current_app.config["EXPORT_KEEP_DAYS"]
    )
    cutoff = utcnow() - timedelta(days=days)
    with unit_of_work():
        return _remove_files(cutoff)


def _remove_files(cutoff) -> int:
    removed = 0
    for job in db.session.scalars(
        select(ExportJob).where(ExportJob.finished_at < cutoff, ExportJob.result_path.is_not(None))
    ):
        shutil.rmtree(export_dir() / "jobs" / str(job.id), ignore_errors=True)
        job.result_path = None
        removed += 1
    for document in db.session.scalars(
        select(ExportDocument).where(
            ExportDocument.issued_at < cutoff, ExportDocument.path.is_not(None)
        )
    ):
        if document.reused_id is None and document.path:
            (export_dir() / document.path).unlink(missing_ok=True)
        document.path = None
    return removed


def verify(public_id: str) -> ExportDocument | None:
    """The issued document a printed id belongs to (never a mere cache reuse)."""
    cleaned = (public_id or "").strip().upper().replace(" ", "")
    if len(cleaned) > 40:
        return None
    return db.session.scalar(
        select(ExportDocument).where(
            ExportDocument.public_id == cleaned,
            ExportDocument.reused_id.is_(None),
            ExportDocument.status == ExportStatus.DONE,
        )
    )
