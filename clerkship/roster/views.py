from __future__ import annotations

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from clerkship import transactions
from clerkship.formerrors import put_error
from clerkship.models import Cohort, Role
from clerkship.permissions import can_import_roster, load_or_404, require_role
from clerkship.roster import bp, pending, service
from clerkship.roster.forms import UploadForm

PENDING = "pending_imports"  # upload token -> (cohort id, kind, file name): this browser only


def _cohort(cohort_id: int) -> Cohort:
    return load_or_404(Cohort, cohort_id, can_import_roster)


@bp.route("/roster/templates/<kind>.csv")
@login_required
def template(kind: str):
    require_role(Role.DIRECTOR, Role.ADMIN)
    chosen = service.KINDS.get(kind) or abort(404)
    return Response(
        service.template_csv(chosen),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{kind}-template.csv"'},
    )


@bp.route("/cohorts/<int:cohort_id>/import", methods=["GET", "POST"])
@login_required
def upload(cohort_id: int):
    cohort = _cohort(cohort_id)
    form = UploadForm()
    if request.method == "GET":
        form.kind.data = (
            request.args.get("kind") if request.args.get("kind") in service.KINDS else "students"
        )
    plan = None
    if form.validate_on_submit():
        file = form.file.data
        raw = file.stream.read(service.MAX_BYTES + 1)
        try:
            plan = service.plan(form.kind.data, raw, cohort, current_user._get_current_object())
        except service.FileProblem as error:
            put_error(form, error)
        transactions.fail()  # the preview writes nothing
    if plan is None:
        status = 400 if request.method == "POST" else 200
        return render_template(
            "roster/upload.html", cohort=cohort, kinds=service.KINDS, form=form
        ), status
    token = None
    if not plan.has_errors:  # only a file that can be confirmed is kept
        token = pending.save(raw)
        session.setdefault(PENDING, {})[token] = [cohort.id, form.kind.data, file.filename[:200]]
        session.modified = True
    # A file with errors is no dead end: the preview offers the upload box again.
    return render_template(
        "roster/preview.html",
        cohort=cohort,
        plan=plan,
        token=token,
        filename=file.filename,
        form=UploadForm(formdata=None, kind=form.kind.data),
        kinds=service.KINDS,
    )


def _forget(token: str) -> None:
    pending.discard(token)
    if token in session.get(PENDING, {}):
        session[PENDING].pop(token)
        session.modified = True


@bp.route("/cohorts/<int:cohort_id>/import/confirm", methods=["POST"])
@login_required
def confirm(cohort_id: int):
    cohort = _cohort(cohort_id)
    token = request.form.get("token", "")
    entry = session.get(PENDING, {}).get(token)
    path = pending.path(token)
    if not entry or entry[0] != cohort.id or path is None:
        flash(_("That upload has expired. Upload the file again."), "error")
        return redirect(url_for("roster.upload", cohort_id=cohort.id))
    kind = entry[1]
    try:
        actor = current_user._get_current_object()
        plan = service.plan(kind, path.read_bytes(), cohort, actor)  # planned again: nothing stale
        counts = service.apply(actor, plan, cohort)
    except service.FileProblem as error:
        put_error(None, error)
        _forget(token)
        return redirect(url_for("roster.upload", cohort_id=cohort.id, kind=kind))
    # Kept until the import is saved: if the commit fails, confirming again still works.
    transactions.after_commit(lambda: _forget(token))
    flash(
        _(
            "Imported: %(new)d new, %(update)d updated, %(unchanged)d unchanged.",
            new=counts["new"],
            update=counts["update"],
            unchanged=counts["unchanged"],
        ),
        "success",
    )
    return redirect(url_for("directory.cohort", cohort_id=cohort.id))


@bp.route("/cohorts/<int:cohort_id>/import/cancel", methods=["POST"])
@login_required
def cancel(cohort_id: int):
    """The previewed file is deleted now, not left for the hourly clean-up."""
    cohort = _cohort(cohort_id)
    token = request.form.get("token", "")
    entry = session.get(PENDING, {}).get(token)
    if entry and entry[0] == cohort.id:
        _forget(token)
    kind = entry[1] if entry else None
    return redirect(url_for("roster.upload", cohort_id=cohort.id, kind=kind))
