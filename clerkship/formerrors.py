"""Where a service's refusal is shown: beside its form field, or at the top of the page."""

from __future__ import annotations

from flask import flash


def put_error(form, error) -> None:
    """``error`` has ``message`` and ``field`` (every service's error class does)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")
