"""Reminders: the daily digest (service.py) and its routes (views.py): unsubscribe, remind now."""

from flask import Blueprint

bp = Blueprint("reminders", __name__)

from clerkship.reminders import views  # noqa: E402,F401
from clerkship.reminders.service import (  # noqa: E402,F401  (callers may use the package)
    send_daily,
    send_digest,
    unsubscribe,
    unsubscribe_token,
    user_for_unsubscribe,
    waiting_for,
)
