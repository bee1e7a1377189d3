"""Template globals: the permission predicates, roles and small formatting helpers."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import pass_context

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
    # After Flask-Babel's own (babel.init_app runs first): the same lookups, the catalogue
    # found once per render_template instead of through the request context on every string.
    app.context_processor(lambda: {CATALOGUE: get_translations()})
    app.jinja_env.install_gettext_callables(
        gettext=_gettext,
        ngettext=_ngettext,
        newstyle=True,
        pgettext=_pgettext,
        npgettext=_npgettext,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


# The template context's catalogue: a page translates hundreds of strings (a dashboard of
# 100 rows, 200), and Flask-Babel's template callables look the catalogue up through the
# request context for each (about 7 µs; the catalogue's own lookup takes 0.2). A template
# rendered without render_template (or a macro imported without context) has none: the
# catalogue is then looked up as Flask-Babel does.
CATALOGUE = "_clerkship_catalogue"


def _catalogue(context):
    return context.get(CATALOGUE) or get_translations()


@pass_context
def _gettext(context, text: str) -> str:
    return _catalogue(context).ugettext(text)


@pass_context
def _ngettext(context, singular: str, plural: str, num: int) -> str:
    return _catalogue(context).ungettext(singular, plural, num)


@pass_context
def _pgettext(context, message_context: str, text: str) -> str:
    return _catalogue(context).upgettext(message_context, text)


@pass_context
def _npgettext(context, message_context: str, singular: str, plural: str, num: int) -> str:
    return _catalogue(context).unpgettext(message_context, singular, plural, num)


def name_of(person: User) -> str:
    """The person's name as the signed-in viewer may see it (see ``can_see_name_of``)."""
    if permissions.can_see_name_of(current_user, person):
        return person.name
    if getattr(current_user, "role", None) is Role.PATIENT:
        return _("Another patient")
    # The admin keeps accounts, not panels: the account's number, as on the people list.
    return _("Patient #%(number)s", number=person.id)
