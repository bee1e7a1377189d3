from __future__ import annotations

import hashlib

from flask import (
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from clerkship import pdf_signing, submissions, transactions
from clerkship.credentials import decisions
from clerkship.csvfile import to_csv
from clerkship.directory import service as directory_service
from clerkship.extensions import limiter
from clerkship.formerrors import put_error
from clerkship.models import Cohort, ExportJob, ExportStatus, User
from clerkship.permissions import (
    can_download_credentials,
    can_export_cohort,
    can_export_portfolios,
    can_export_student,
    can_view_export_job,
    can_view_portfolio,
    load_or_404,
)
from clerkship.portfolios import bp, figures, jobs, render, service
from clerkship.portfolios import data as portfolio
from clerkship.portfolios.forms import PeriodForm, VerifyForm


def _user() -> User:
    return current_user._get_current_object()


# --- the portfolio page ----------------------------------------------------------------------


@bp.route("/portfolios/<int:student_id>")
@login_required
def show(student_id: int):
    student = load_or_404(User, student_id, can_view_portfolio, owner=lambda s: s.id)
    form = PeriodForm(request.args, meta={"csrf": False})
    problem = bool(request.args) and not form.validate()
    start, end = (None, None) if problem else form.period  # a bad period shows the whole year
    data = portfolio.portfolio_data(student, start=start, end=end)
    charts, patient_chart = render.charts_for(data)
    program = service._program_of(student)
    may_download = can_download_credentials(_user(), student)
    return render_template(
        "portfolios/show.html",
        data=data,
        charts=charts,
        patient_chart=patient_chart,
        period_form=form,
        may_export=program is not None and can_export_portfolios(_user(), program),
        may_download_credentials=may_download,
        credentials=decisions.decisions_of(student) if may_download else [],
    ), (400 if problem else 200)


# --- exports ---------------------------------------------------------------------------------


def _start(form: PeriodForm, **target):
    """The export job's page, or None when the form is refused (the reasons are on it)."""
    if not submissions.valid(form):
        return None
    if (again := submissions.repeated()) is not None:
        return again
    start, end = form.period
    try:
        job = service.start_export(_user(), start=start, end=end, **target)
    except service.ExportError as error:
        put_error(form, error)
        return None
    job_id = job.id
    # Queued only once the job is saved; a queue that is down leaves it waiting (the page says
    # so) and the reaper sends it when the queue is back. Rendering never runs in a request.
    transactions.after_commit(lambda: jobs.queue_job(job_id))
    return redirect(submissions.done(url_for("portfolios.job", job_id=job.id)))


@bp.route("/portfolios/<int:student_id>/export", methods=["POST"])
@login_required
def export_student(student_id: int):
    student = load_or_404(User, student_id, can_export_student)
    form = PeriodForm()
    if (answer := _start(form, student=student)) is not None:
        return answer
    # The period came from the page's filter (hidden fields): its reasons go with the page.
    transactions.fail()
    for errors in form.errors.values():
        for message in errors:
            flash(message, "error")
    return redirect(url_for("portfolios.show", student_id=student.id))


@bp.route("/cohorts/<int:cohort_id>/export", methods=["POST"])
@login_required
def export_cohort(cohort_id: int):
    cohort = load_or_404(Cohort, cohort_id, can_export_cohort)
    form = PeriodForm()
    if (answer := _start(form, cohort=cohort)) is not None:
        return answer
    rows = directory_service.cohort_roster(cohort)
    return render_template(
        "directory/cohort.html", cohort=cohort, rows=rows, export_form=form
    ), 400


def _job_state(job: ExportJob) -> dict:
    finished = job.status in (ExportStatus.DONE, ExportStatus.FAILED)
    return {
        "status": job.status.value,
        "done": job.done,
        "total": job.total,
        "finished": finished,
        "download": url_for("portfolios.download", job_id=job.id)
        if finished and job.result_path
        else None,
    }


@bp.route("/exports/<int:job_id>")
@login_required
def job(job_id: int):
    job = load_or_404(ExportJob, job_id, can_view_export_job)
    return render_template(
        "portfolios/job.html",
        job=job,
        state=_job_state(job),
        failed=[d for d in job.documents if d.status is ExportStatus.FAILED],
        available=service.result_file(job) is not None,
    )


@bp.route("/exports/<int:job_id>/status")
@login_required
def job_status(job_id: int):
    job = load_or_404(ExportJob, job_id, can_view_export_job)
    return jsonify(_job_state(job))


@bp.route("/exports/<int:job_id>/download")
@login_required
def download(job_id: int):
    job = load_or_404(ExportJob, job_id, can_view_export_job)
    path = service.result_file(job)
    if path is None:
        flash(_("This file is no longer kept. Start the export again."), "info")
        return redirect(url_for("portfolios.job", job_id=job.id))
    mimetype = "application/pdf" if path.suffix == ".pdf" else "application/zip"
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=path.name)


@bp.route("/cohorts/<int:cohort_id>/figures.csv")
@login_required
def cohort_figures(cohort_id: int):
    cohort = load_or_404(Cohort, cohort_id, can_export_cohort)
    return Response(
        to_csv(figures.cohort_rows(cohort)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="cohort-{cohort.id}-figures.csv"'},
    )


# --- public verification ---------------------------------------------------------------------


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["VERIFY_RATE_LIMIT"])
def verify():
    """Anyone holding a portfolio PDF can check that it is what the program issued."""
    document_id = (request.values.get("id") or "").strip()
    document = service.verify(document_id) if document_id else None
    file_check = pdf_check = None
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        content = upload.stream.read(50 * 1024 * 1024)
        pdf_check = pdf_signing.check(content)
        if document is not None:
            file_check = hashlib.sha256(content).hexdigest() == document.file_hash
    # Only to show what was sent, beside its label: the id comes from a link (GET) or the form.
    form = VerifyForm(formdata=None, data={"id": document_id})
    if document_id and document is None:
        form.id.errors = [_("No issued portfolio has this id.")]
    status = 200 if document is not None or not document_id else 404
    # A changed file is said first, and then nothing about it is green.
    tampered = file_check is False or (pdf_check is not None and not pdf_check.ok)
    return render_template(
        "portfolios/verify.html",
        form=form,
        document_id=document_id,
        document=document,
        file_check=file_check,
        pdf_check=pdf_check,
        tampered=tampered,
    ), status
