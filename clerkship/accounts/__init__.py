"""The administrator's account pages: find, create and correct accounts. Writes go through
clerkship.people (one write path with the roster import and the director's forms)."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/admin/people")

from clerkship.accounts import views  # noqa: E402,F401
