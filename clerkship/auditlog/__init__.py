"""The audit viewer: who viewed, changed, signed or exported which student's records.
Who may read which rows is clerkship.permissions.audit_events_visible_to."""

from flask import Blueprint

bp = Blueprint("auditlog", __name__, url_prefix="/audit")

from clerkship.auditlog import views  # noqa: E402,F401
