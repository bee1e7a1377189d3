"""Portfolio exports: a job per request, one document per student, rendered by workers.

The request only writes the job and its documents, commits, then queues it; workers render
each student and the last one packs the result: the PDF itself for one student, or a ZIP of
PDFs plus ``index.csv`` for a cohort. Leases, retries and the reaper: ``jobs.py``; the files
themselves: ``files.py``.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from clerkship import audit, permissions
from clerkship.csvfile import to_csv
from clerkship.directory.queries import latest_program_of
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.models import (
    Cohort,
    ExportDocument,
    ExportJob,
    ExportStatus,
    Program,
    User,
    utcnow,
)
from clerkship.portfolios import files, jobs, render
from clerkship.transactions import unit_of_work


class ExportError(DomainError):
    """The export cannot start as asked (see clerkship.domain)."""


export_dir = files.export_dir


def _program_of(student: User) -> Program | None:
    return latest_program_of(student.id)


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
    # Deadlines for the reaper: sent again if no worker has taken them by then (jobs.reap).
    deadline = utcnow() + timedelta(seconds=current_app.config["EXPORT_LEASE_SECONDS"])
    job = ExportJob(
        lease_until=deadline,
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
                lease_until=deadline,
            )
        )
    db.session.flush()
    audit.record(
        director,
        "export.started",
        job,
        after={"students": len(students), "cohort": job.cohort_id, "student": job.student_id},
    )
    if job.student_id is None:  # a cohort: the log names each student whose records left
        for person in students:
            audit.record(director, "export.included", person, after={"job": job.id})
    return job


def index_csv(documents: list[ExportDocument]) -> str:
    header = ["student", "file", "document_id", "status", "pages", "content_sha256"]
    return to_csv(
        [
            header,
            *(
                [
                    d.student.name,
                    jobs.file_name(d) if d.status is ExportStatus.DONE else "",
                    jobs.printed_id(d),
                    d.status.value,
                    d.pages or "",
                    d.content_hash or "",
                ]
                for d in documents
            ),
        ]
    )


def recent_jobs(user: User, limit: int = 10) -> list[ExportJob]:
    """The exports a director sees on their home page, newest first: none is ever lost."""
    return list(
        db.session.scalars(
            select(ExportJob)
            .where(permissions.export_jobs_clause(user))
            .order_by(ExportJob.id.desc())
            .limit(limit)
        )
    )


def result_file(job: ExportJob) -> Path | None:
    if not job.result_path:
        return None
    path = export_dir() / job.result_path
    return path if path.is_file() else None


def cleanup(older_than_days: int | None = None) -> int:
    """Delete export files older than the retention period, whatever became of their job
    (done, failed, or stuck and now marked failed), and temp files killed workers left;
    the records stay. Returns the number of jobs whose files went."""
    days = (
        older_than_days if older_than_days is not None else current_app.config["EXPORT_KEEP_DAYS"]
    )
    now = utcnow()
    cutoff = now - timedelta(days=days)
    removed = 0
    with unit_of_work():
        stuck = db.session.scalars(
            select(ExportJob).where(
                ExportJob.status.in_([ExportStatus.QUEUED, ExportStatus.RUNNING]),
                ExportJob.created_at < cutoff,
            )
        )
        for job in stuck:
            job.status = ExportStatus.FAILED
            job.error = _("This export did not finish in time. Start it again.")
            job.finished_at = now
            job.lease_owner = job.lease_until = None
            for document in job.documents:  # nothing left for the reaper to send again
                if document.status in (ExportStatus.QUEUED, ExportStatus.RUNNING):
                    document.status = ExportStatus.FAILED
                    document.error = job.error
                    document.lease_owner = document.lease_until = None
        db.session.flush()
        for job in db.session.scalars(select(ExportJob).where(ExportJob.finished_at < cutoff)):
            folder = export_dir() / "jobs" / str(job.id)
            if job.result_path or folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
                job.result_path = None
                removed += 1
        for document in db.session.scalars(
            select(ExportDocument).where(
                ExportDocument.issued_at < cutoff, ExportDocument.path.is_not(None)
            )
        ):
            if document.reused_id is None and document.path:
                files.remove(document.path)
            document.path = None
    files.remove_stale_temporaries(2 * current_app.config["EXPORT_LEASE_SECONDS"])
    return removed


def normalize_document_id(typed: str | None) -> str | None:
    """``abcd efgh-ijkl mnop``, ``ABCDEFGHIJKLMNOP``… as printed (``ABCD-EFGH-IJKL-MNOP``):
    people read ids out and type them as they can. None when it cannot be one."""
    letters = "".join(ch for ch in (typed or "")[:80] if ch.isascii() and ch.isalnum()).upper()
    if len(letters) != 16:
        return None
    return "-".join(letters[i : i + 4] for i in range(0, 16, 4))


def verify(public_id: str) -> ExportDocument | None:
    """The issued document a printed id belongs to (never a mere cache reuse)."""
    cleaned = normalize_document_id(public_id)
    if cleaned is None:
        return None
    return db.session.scalar(
        select(ExportDocument).where(
            ExportDocument.public_id == cleaned,
            ExportDocument.reused_id.is_(None),
            ExportDocument.status == ExportStatus.DONE,
        )
    )
