from __future__ import annotations

from flask import Response, abort, render_template, request
from flask_login import current_user, login_required

from clerkship import audit, clock
from clerkship.auditlog import bp, queries, wording
from clerkship.auditlog.forms import AuditFilterForm
from clerkship.models import User
from clerkship.permissions import can_view_audit_log


def _viewer() -> User:
    if not can_view_audit_log(current_user):
        abort(404)
    return current_user._get_current_object()


def _filters(form: AuditFilterForm) -> queries.Filters:
    """What the filter form asks; a field that cannot be read is left out (and marked)."""
    form.validate()
    return queries.Filters(
        actor="" if form.actor.errors else form.actor.data or "",
        student="" if form.student.errors else form.student.data or "",
        kind=form.kind.data if form.kind.data in queries.KINDS else "",
        since=None if form.since.errors else form.since.data,
        until=None if form.until.errors else form.until.data,
    )


@bp.route("/")
@login_required
def index():
    viewer = _viewer()
    form = AuditFilterForm(request.args)
    filters = _filters(form)
    number = max(request.args.get("page", 1, type=int) or 1, 1)
    events = queries.page(viewer, filters, number)
    # Reading the log is itself on the log (the filters say what was looked for).
    audit.record_reading(viewer, "audit.viewed", after={**filters.as_dict(), "page": number})
    return render_template(
        "auditlog/index.html",
        form=form,
        events=events,
        filtered=bool(filters.as_dict()),
        wording=wording,
    )


@bp.route("/export.csv")
@login_required
def export():
    viewer = _viewer()
    filters = _filters(AuditFilterForm(request.args))
    events = list(queries.rows(viewer, filters))
    audit.record_reading(
        viewer, "audit.exported", after={**filters.as_dict(), "rows": len(events)}
    )
    name = f"audit-{clock.today().isoformat()}.csv"
    return Response(
        wording.csv_text(viewer, events),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
