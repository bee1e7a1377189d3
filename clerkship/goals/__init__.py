"""Coproduced learning goals."""

from flask import Blueprint

bp = Blueprint("goals", __name__, url_prefix="/goals")

from clerkship.goals import views  # noqa: E402,F401
