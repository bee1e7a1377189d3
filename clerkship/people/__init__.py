"""Program directors manage people: pairings, deactivation, password-reset links."""

from flask import Blueprint

bp = Blueprint("people", __name__)

from clerkship.people import views  # noqa: E402,F401
