"""Read pages over people, programs and frameworks."""

from flask import Blueprint

bp = Blueprint("directory", __name__)

from clerkship.directory import views  # noqa: E402,F401
