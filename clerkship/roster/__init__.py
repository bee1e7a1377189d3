"""Roster imports from CSV, for program directors."""

from flask import Blueprint

bp = Blueprint("roster", __name__)

from clerkship.roster import views  # noqa: E402,F401
