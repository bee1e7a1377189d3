"""Exports through the pages and the queue: jobs, downloads, caching, verify, figures."""

from __future__ import annotations

import csv
import io
import time
import zipfile

import flask_migrate
from pypdf import PdfReader
from sqlalchemy import select

from clerkship import create_app, demo, tasks
from clerkship.extensions import db as _db
from clerkship.models import (
    AuditEvent,
    Cohort,
    ExportDocument,
    ExportJob,
    ExportStatus,
    Program,
)
from clerkship.portfolios import render, service
from tests.conftest import login as _login
from tests.conftest import test_config
from tests.databases import fresh_database
from tests.portfolios.conftest import export_worker


def login(client, user):
    return _login(client, user, demo.DEMO_PASSWORD)


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_portfolio_page_for_student_preceptor_director_only(client, db, demo_year):
    student = demo_year["student01"]
    for reader in ("student01", "preceptor01", "director"):
        login(client, demo_year[reader])
        response = client.get(f"/portfolios/{student.id}")
        assert response.status_code == 200, reader
        assert "Competency portfolio" in _html(response)
        client.post("/sign-out")
    for outsider in ("student02", "patient", "admin"):
        login(client, demo_year[outsider])
        assert client.get(f"/portfolios/{student.id}").status_code == 404, outsider
        client.post("/sign-out")


def test_bad_period_is_explained_not_a_500(client, db, demo_year):
    login(client, demo_year["director"])
    student = demo_year["student01"]
    response = client.get(f"/portfolios/{student.id}?start=2026-13-45&end=yesterday")
    assert response.status_code == 400
    assert "Dates look like 2026-09-30." in _html(response)
    backwards = client.get(f"/portfolios/{student.id}?start=2026-10-01&end=2026-09-01")
    assert "cannot end before it starts" in _html(backwards)


def test_single_student_export_gives_a_pdf(client, db, demo_year, immediate_queue):
    student = demo_year["student01"]
    login(client, demo_year["director"])
    response = client.post(f"/portfolios/{student.id}/export")
    assert response.status_code == 302
    job = db.session.scalar(select(ExportJob))
    assert response.headers["Location"] == f"/exports/{job.id}"
    page = _html(client.get(f"/exports/{job.id}"))
    assert "Download PDF" in page
    # A way back (issue 16): to the student the export is of, and home.
    assert f'href="/students/{student.id}"' in page and 'href="/"' in page
    assert client.get(f"/exports/{job.id}/status").get_json() == {
        "status": "done",
        "done": 1,
        "total": 1,
        "finished": True,
        "download": f"/exports/{job.id}/download",
    }
    download = client.get(f"/exports/{job.id}/download")
    body = download.data
    download.close()  # streamed from the file
    assert download.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(body))
    assert student.name in reader.pages[0].extract_text()
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export.started"))


def test_unchanged_portfolio_is_not_rendered_again(client, db, demo_year, immediate_queue):
    student = demo_year["student01"]
    login(client, demo_year["director"])
    calls = []
    original = render.render_pdf

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    render.render_pdf = counting
    try:
        client.post(f"/portfolios/{student.id}/export")
        client.post(f"/portfolios/{student.id}/export")
        assert len(calls) == 1
        first, second = db.session.scalars(select(ExportDocument).order_by(ExportDocument.id))
        assert second.reused_id == first.id and second.file_hash == first.file_hash
        # A change to the record makes a new rendering.
        from clerkship.models import LearningGoal

        goal = db.session.scalars(
            select(LearningGoal).where(LearningGoal.student_id == student.id)
        ).first()
        goal.latest.title = goal.latest.title + " (renamed)"
        db.session.commit()
        client.post(f"/portfolios/{student.id}/export")
        assert len(calls) == 2
    finally:
        render.render_pdf = original


def test_an_unchanged_portfolio_is_not_even_read_again(
    client, db, demo_year, immediate_queue, monkeypatch
):
    """No record a portfolio shows changed since the last export (the records token, the
    keys and the code are the same): the earlier PDF is reused without reading the records."""
    from clerkship.portfolios import data, files

    student, other = demo_year["student01"], demo_year["student02"]
    login(client, demo_year["director"])
    reads, renders = [], []
    read, make = data.portfolio_data, render.render_pdf
    monkeypatch.setattr(data, "portfolio_data", lambda *a, **k: reads.append(1) or read(*a, **k))
    monkeypatch.setattr(render, "render_pdf", lambda *a, **k: renders.append(1) or make(*a, **k))

    def export(**period) -> ExportDocument:
        assert client.post(f"/portfolios/{student.id}/export", data=period).status_code == 302
        latest = select(ExportDocument).order_by(ExportDocument.id.desc())
        return db.session.scalars(latest).first()

    first = export()
    client.post("/sign-out")
    login(client, demo_year["director"])  # signing in writes no record a portfolio shows
    again = export()
    assert (len(reads), len(renders)) == (1, 1)
    assert again.reused_id == first.id and again.file_hash == first.file_hash
    assert again.records_stamp == first.records_stamp is not None
    third = export()  # reused from a reuse: still the file first made
    assert third.reused_id == first.id and len(reads) == 1

    export(start="2026-09-01")  # another period is another portfolio
    assert (len(reads), len(renders)) == (2, 2)

    other.name = other.name + " Jr."  # a record changed, though not this student's
    db.session.commit()
    after_change = export()
    assert (len(reads), len(renders)) == (3, 2)  # read again, same content: same file
    assert after_change.reused_id == first.id
    assert after_change.records_stamp != first.records_stamp

    (files.export_dir() / first.path).unlink()  # the file is gone: made again
    export()
    assert (len(reads), len(renders)) == (4, 3)


def test_a_failed_render_is_retried_once_and_reported(client, db, demo_year, immediate_queue):
    cohort = db.session.scalar(select(Cohort))
    failing = demo_year["student02"]
    original = render.render_pdf
    attempts = []

    def flaky(data, *args, **kwargs):
        if data["student"]["id"] == failing.id:
            attempts.append(1)
            raise RuntimeError("renderer crashed")
        return original(data, *args, **kwargs)

    render.render_pdf = flaky
    try:
        login(client, demo_year["director"])
        client.post(f"/cohorts/{cohort.id}/export")
    finally:
        render.render_pdf = original
    job = db.session.scalar(select(ExportJob))
    assert len(attempts) == 2
    assert job.status is ExportStatus.DONE and job.done == job.total == 3
    page = _html(client.get(f"/exports/{job.id}"))
    assert "Not rendered" in page and failing.name in page
    download = client.get(f"/exports/{job.id}/download")
    bundle = zipfile.ZipFile(io.BytesIO(download.data))
    download.close()
    names = bundle.namelist()
    assert len([n for n in names if n.endswith(".pdf")]) == 2
    rows = list(csv.DictReader(io.StringIO(bundle.read("index.csv").decode())))
    assert {r["status"] for r in rows} == {"done", "failed"}
    # The PDFs are stored as they are (compressed inside already); the index is deflated.
    kinds = {info.filename[-4:]: info.compress_type for info in bundle.infolist()}
    assert kinds == {".pdf": zipfile.ZIP_STORED, ".csv": zipfile.ZIP_DEFLATED}


def test_verify_genuine_altered_and_unknown(client, db, demo_year, immediate_queue):
    student = demo_year["student01"]
    login(client, demo_year["director"])
    client.post(f"/portfolios/{student.id}/export")
    client.post("/sign-out")
    document = db.session.scalar(select(ExportDocument))
    with client.application.app_context():
        pdf = (service.export_dir() / document.path).read_bytes()
    genuine = client.post(
        "/verify",
        data={"id": document.public_id.lower(), "file": (io.BytesIO(pdf), "p.pdf")},
        content_type="multipart/form-data",
    )
    assert genuine.status_code == 200
    html = _html(genuine)
    assert "was issued by this Clerkship site" in html and student.name in html
    assert "exactly the file that was issued" in html
    altered = client.post(
        "/verify",
        data={"id": document.public_id, "file": (io.BytesIO(pdf + b"%tampered"), "p.pdf")},
        content_type="multipart/form-data",
    )
    assert "NOT the file that was issued" in _html(altered)
    for wrong in (
        document.public_id[:-1] + ("A" if document.public_id[-1] != "A" else "B"),
        "x" * 300,
    ):
        response = client.get(f"/verify?id={wrong}")
        assert response.status_code == 404
        assert "No issued portfolio has this id." in _html(response)


def test_cohort_figures_csv(client, db, demo_year):
    cohort = db.session.scalar(select(Cohort))
    login(client, demo_year["director"])
    response = client.get(f"/cohorts/{cohort.id}/figures.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 3
    first = next(r for r in rows if r["student"] == demo_year["student01"].name)
    assert int(first["goals_agreed"]) >= 1 and int(first["assessments_signed"]) >= 1
    assert "EPA" in first["latest_preceptor_level_per_competency"]
    assert int(first["patient_responses"]) >= 1
    client.post("/sign-out")
    login(client, demo_year["student01"])
    assert client.get(f"/cohorts/{cohort.id}/figures.csv").status_code == 404


def test_cohort_export_end_to_end_through_a_real_worker(tmp_path):
    """The queue as deployed: SQLite file by default, Redis when REDIS_URL is set (CI)."""
    export_dir = str(tmp_path / "exports")
    with fresh_database("exports") as url:
        app = create_app(test_config(url, EXPORT_DIR=export_dir))
        with app.app_context():
            flask_migrate.upgrade()
            demo.build_demo_year(students=3)
            _db.session.commit()
            tasks.huey.flush()
            director_program = _db.session.scalar(select(Program))
            cohort = _db.session.scalar(select(Cohort))
            director = director_program.directors[0]
            job_id = service.start_export(director, cohort=cohort).id
            _db.session.commit()
            tasks.run_export(job_id)
            with export_worker(url, export_dir):
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline:
                    status = _db.session.get(ExportJob, job_id).status
                    _db.session.rollback()  # never hold the database while the workers write
                    if status in (ExportStatus.DONE, ExportStatus.FAILED):
                        break
                    time.sleep(0.5)
            job = _db.session.get(ExportJob, job_id)
            assert job.status is ExportStatus.DONE, job.error
            assert job.done == job.total == 3
            bundle = zipfile.ZipFile(io.BytesIO(service.result_file(job).read_bytes()))
            pdfs = [n for n in bundle.namelist() if n.endswith(".pdf")]
            assert len(pdfs) == 3 and "index.csv" in bundle.namelist()
            names = {d.student.name for d in job.documents}
            for name in pdfs:
                text = PdfReader(io.BytesIO(bundle.read(name))).pages[0].extract_text()
                assert any(student in text for student in names)
            _db.session.remove()
            _db.engine.dispose()
    # The worker wrote into this test's own folder, not the suite's.
    assert list((tmp_path / "exports" / "documents").glob("*.pdf"))


def test_portfolio_page_query_count_does_not_grow(client, db, demo_year, count_queries):
    from clerkship.assessments import service as assessments
    from clerkship.models import Assignment, SignatureMeaning

    student = demo_year["student01"]
    login(client, demo_year["director"])

    def measure() -> int:
        with count_queries() as statements:
            assert client.get(f"/portfolios/{student.id}").status_code == 200
        return len(statements)

    preceptor = db.session.scalar(
        select(Assignment).where(
            Assignment.student_id == student.id, Assignment.end_date.is_(None)
        )
    ).preceptor
    scale = assessments.scale_for(student.id)
    competencies = assessments.competencies_for(student.id)

    def add_signed_cycle(n: int) -> None:
        cycle = assessments.start_cycle(
            student,
            student=student,
            preceptor=preceptor,
            competency_id=competencies[n % 4].id,
            encounter=f"Extra encounter {n}",
        )
        assessments.submit_self_assessment(
            student, cycle, assessments.SelfRating(scale.levels[2].id, "evidence")
        )
        assessments.submit_preceptor_assessment(
            preceptor, cycle, level_id=scale.levels[1].id, went_well="a", work_on="b"
        )
        assessments.record_reaction(student, cycle, reaction="r", plan="p")
        assessments.record_cosignature(preceptor, cycle, SignatureMeaning.REVIEWED_AND_AGREED)
        assessments.record_addendum(preceptor, cycle, "A correction")
        db.session.commit()

    add_signed_cycle(0)  # every kind of record present once (eager loads skip empty sets)
    before = measure()
    for n in range(1, 8):
        add_signed_cycle(n)
    assert measure() == before
