"""Template globals: the permission predicates, roles and small formatting helpers."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from clerkship import clock, dates, permissions, submissions
from clerkship.forminput import clean_text
from clerkship.models import Role, User


def init_app(app: Flask) -> None:
    # Every value a template prints loses bidi overrides (Markup stays Markup): text stored
    # before the input rule, or from elsewhere, cannot turn a page or PDF around either.
    app.jinja_env.finalize = clean_text
    app.jinja_env.globals.update(permissions.PREDICATES)
    app.jinja_env.globals["Role"] = Role
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["submission_field"] = submissions.field
    app.jinja_env.globals["name_of"] = name_of

    from clerkship.goals import service as goals

    app.jinja_env.globals["status_label"] = goals.status_label
    app.jinja_env.globals["field_labels"] = goals.FIELD_LABELS
    app.jinja_env.globals["kind_labels"] = goals.CONTRIBUTION_LABELS
    app.jinja_env.globals["agreement_is_valid"] = goals.agreement_is_valid
    from clerkship.assessments import service as assessments

    app.jinja_env.globals["cycle_status_label"] = assessments.STATUS_LABELS.__getitem__
    app.jinja_env.globals["waiting_labels"] = assessments.WAITING_LABELS
    app.jinja_env.globals["assessment_signature_valid"] = assessments.signature_valid
    from clerkship.charts import sparkline
    from clerkship.panels import service as panels

    app.jinja_env.globals["sparkline"] = sparkline
    app.jinja_env.globals["today"] = clock.today
    app.jinja_env.globals["link_state_labels"] = panels.LINK_STATE_LABELS
    # One shape for dates everywhere, in the reader's language (clerkship/dates.py).
    app.jinja_env.filters["date"] = dates.show_date
    app.jinja_env.filters["datetime"] = dates.show_datetime
    from clerkship.auth.sessions import describe_browser

    app.jinja_env.filters["browser_name"] = describe_browser
    from clerkship import picker

    app.jinja_env.filters["picker_count"] = picker.count
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


def name_of(person: User) -> str:
    """The person's name as the signed-in viewer may see it (see ``can_see_name_of``)."""
    if permissions.can_see_name_of(current_user, person):
        return person.name
    if getattr(current_user, "role", None) is Role.PATIENT:
        return _("Another patient")
    # The admin keeps accounts, not panels: the account's number, as on the people list.
    return _("Patient #%(number)s", number=person.id)
