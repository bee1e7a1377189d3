"""The administrator's framework import (upload → preview → confirm, as the roster import)
and the CTDL-ASN / CASE download of any framework."""

from __future__ import annotations

import json

from flask import Response, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from clerkship import seeds, transactions
from clerkship.domain import DomainError
from clerkship.formerrors import put_error
from clerkship.frameworks import bp, export, planner, reading
from clerkship.frameworks.forms import FrameworkUploadForm
from clerkship.models import Framework
from clerkship.permissions import can_import_framework, can_view_framework, load_or_404
from clerkship.roster import pending

PENDING = "pending_frameworks"  # upload token -> file name: this browser only


def _require_admin() -> None:
    if not can_import_framework(current_user):
        abort(404)


def _plan(raw: bytes, filename: str) -> planner.Plan:
    try:
        return planner.plan(reading.parse_file(raw, filename))
    except seeds.ImportFailed as failure:
        problems = "; ".join(message for _row, message in failure.errors)
        raise DomainError(problems[:600], "file") from None


@bp.route("/frameworks/import", methods=["GET", "POST"])
@login_required
def upload():
    _require_admin()
    form = FrameworkUploadForm()
    the_plan = None
    if form.validate_on_submit():
        file = form.file.data
        raw = file.stream.read(reading.MAX_BYTES + 1)
        try:
            the_plan = _plan(raw, file.filename or "upload.json")
        except DomainError as error:
            put_error(form, error)
        transactions.fail()  # the preview writes nothing
    if the_plan is None:
        status = 400 if request.method == "POST" else 200
        return render_template("frameworks/upload.html", form=form), status
    token = None
    if the_plan.ok:
        token = pending.save(raw)
        session.setdefault(PENDING, {})[token] = (file.filename or "upload.json")[:200]
        session.modified = True
    return render_template(
        "frameworks/preview.html", plan=the_plan, token=token, filename=file.filename
    )


def _forget(token: str) -> None:
    pending.discard(token)
    if token in session.get(PENDING, {}):
        session[PENDING].pop(token)
        session.modified = True


@bp.route("/frameworks/import/confirm", methods=["POST"])
@login_required
def confirm():
    _require_admin()
    token = request.form.get("token", "")
    filename = session.get(PENDING, {}).get(token)
    path = pending.path(token)
    if not filename or path is None:
        flash(_("That upload has expired. Upload the file again."), "error")
        return redirect(url_for("frameworks.upload"))
    try:
        the_plan = _plan(path.read_bytes(), filename)  # planned again: nothing stale
        framework = planner.apply(the_plan, current_user._get_current_object(), filename)
    except (DomainError, planner.PlanRefused) as error:
        _forget(token)
        flash(_("Nothing was imported: %(why)s", why=str(error)), "error")
        return redirect(url_for("frameworks.upload"))
    _forget(token)
    flash(
        _(
            "Imported %(name)s: %(new)d new, %(updated)d updated, %(unchanged)d unchanged, "
            "%(retired)d retired.",
            name=framework.name,
            new=the_plan.count(planner.NEW),
            updated=the_plan.count(planner.UPDATED),
            unchanged=the_plan.count(planner.UNCHANGED),
            retired=the_plan.count(planner.RETIRED),
        ),
        "success",
    )
    return redirect(url_for("directory.framework", framework_id=framework.id))


@bp.route("/frameworks/import/cancel", methods=["POST"])
@login_required
def cancel():
    """The previewed file is deleted now, not left for the hourly clean-up."""
    _require_admin()
    _forget(request.form.get("token", ""))
    return redirect(url_for("frameworks.upload"))


@bp.route("/frameworks/<int:framework_id>/export/<kind>.json")
@login_required
def download(framework_id: int, kind: str):
    framework = load_or_404(Framework, framework_id, can_view_framework)
    writers = {"ctdl-asn": export.to_ctdl, "case": export.to_case}
    writer = writers.get(kind) or abort(404)
    body = json.dumps(writer(framework), indent=2, ensure_ascii=False)
    name = f"{framework.code}-{kind}.json"
    return Response(
        body,
        mimetype="application/ld+json" if kind == "ctdl-asn" else "application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
