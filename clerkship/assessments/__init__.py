"""Informed self-assessment and co-signed preceptor assessment."""

from flask import Blueprint

bp = Blueprint("assessments", __name__, url_prefix="/assessments")

from clerkship.assessments import views  # noqa: E402,F401
