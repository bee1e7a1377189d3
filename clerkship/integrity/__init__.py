"""Integrity of signed records: the hash-chained log (chain.py), the full check (service.py),
the directors' integrity page and the public keys (views.py)."""

from flask import Blueprint

bp = Blueprint("integrity", __name__)

from clerkship.integrity import views  # noqa: E402,F401
