"""Double-submit protection for every create form: the same form sent twice makes one record.

Each create form carries a random token (``{{ submission_field("goals.new") }}`` renders it;
a form that comes back with errors keeps the token it was sent with). The view, once the form
is valid, asks :func:`repeated` before creating anything:

- the token is new: it is claimed for this request (a ``submitted_form`` row in the request's
  transaction) and the view creates the record, then says where it is with :func:`done`;
- the token was used before (a double click, a resend after a time-out, Back and send): the
  answer is a redirect to the first submission's result, and nothing is created;
- there is no token (a page from before the token, a script): the form is refused by
  :func:`valid` — shown again as sent, with a line saying why — since nothing could tell its
  second sending from a new record.

A refused submission rolls back with its claim (clerkship.transactions), so correcting the
form and sending it again works. Two copies sent at the same moment: the second waits on
the unique token, sees the first's row once it commits, and lands on its result too.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from clerkship.clock import utcnow
from clerkship.extensions import db
from clerkship.models import SubmittedForm

FIELD = "submission"
_CLAIMED = "clerkship_submission"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
KEEP = timedelta(days=7)
NO_TOKEN = _l(
    "This form came without the code that keeps it from being saved twice (it may be from an "
    "old page). Nothing was saved: check what you wrote and send it again."
)


def _posted() -> str | None:
    token = request.form.get(FIELD, "")
    return token if _TOKEN.match(token) else None


def field(endpoint: str) -> Markup:
    """The hidden token of a create form that posts to ``endpoint``."""
    from clerkship import page_cache

    page_cache.not_keepable()  # a kept page would hand the same token to the next visit
    token = _posted() if request.method == "POST" and request.endpoint == endpoint else None
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        FIELD, token or secrets.token_urlsafe(24)
    )


def sent_with_token() -> bool:
    """False (and the reason flashed on the page shown next) for a create form without one."""
    if _posted() is not None:
        return True
    flash(str(NO_TOKEN), "error")
    return False


def valid(form) -> bool:
    """``form.validate_on_submit()`` for a create form: one sent without its token is refused
    too (the view shows it again with what was typed, as for any invalid form)."""
    return form.validate_on_submit() and sent_with_token()


def _earlier(token: str) -> SubmittedForm | None:
    return db.session.scalar(select(SubmittedForm).where(SubmittedForm.token == token))


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def repeated() -> Response | None:
    """None: go on and create (the token is now this request's). Else the redirect to what
    the first submission of this form made."""
    token = _posted()
    if token is None:  # only reached by a view that did not ask valid(): a bug, not input
        raise RuntimeError(f"{request.endpoint}: create form checked without valid()")
    row = _earlier(token)
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(
                    SubmittedForm(token=token, user_id=_user_id(), endpoint=request.endpoint)
                )
        except IntegrityError:
            row = _earlier(token)  # its twin, sent at the same moment, got there first
        else:
            setattr(g, _CLAIMED, token)
            return None
    if row is None or row.user_id != _user_id() or row.endpoint != request.endpoint:
        abort(400)
    flash(_("That form had already been sent; this is what it made."), "info")
    return redirect(row.result_url or url_for("home.index"))


def done(url: str) -> str:
    """Remember ``url`` as this submission's result (for a repeat of it); returns ``url``."""
    token = getattr(g, _CLAIMED, None)
    row = _earlier(token) if token else None
    if row is not None:
        row.result_url = url
    return url


def prune() -> int:
    """Forget tokens older than KEEP: a form left open for a week is sent as new."""
    result = db.session.execute(
        delete(SubmittedForm).where(SubmittedForm.created_at < utcnow() - KEEP)
    )
    return result.rowcount
