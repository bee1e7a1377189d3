"""The student's own reflections; those they choose appear in their portfolio."""

from flask import Blueprint

bp = Blueprint("reflections", __name__, url_prefix="/reflections")

from clerkship.reflections import views  # noqa: E402,F401
