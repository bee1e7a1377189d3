"""Continuity patients' pages, reached only through an invitation link (no account)."""

from flask import Blueprint

bp = Blueprint("visit", __name__, url_prefix="/p")

from clerkship.visit import views  # noqa: E402,F401
