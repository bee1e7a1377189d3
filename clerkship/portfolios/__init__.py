"""Competency portfolios: the HTML view, PDF exports in the background, and /verify."""

from flask import Blueprint

bp = Blueprint("portfolios", __name__)

from clerkship.portfolios import views  # noqa: E402,F401
