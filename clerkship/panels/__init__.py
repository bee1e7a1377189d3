"""Continuity patients on students' panels, invitation links and the feedback they give."""

from flask import Blueprint

bp = Blueprint("panels", __name__, url_prefix="/panel")

from clerkship.panels import views  # noqa: E402,F401
