"""The one root of every refusal a service gives: a rule of the domain was broken.

Each area keeps its own subclass (``GoalError``, ``AssessmentError``, ``PanelError``, …) so
callers can catch what they expect, but every one carries the same two things: ``message``
(for the person, already translated) and ``field`` (the form field it belongs beside, or None
for the top of the page). :func:`clerkship.formerrors.put_error` is the one place that turns
them into what the user reads; ``status`` is the HTTP status of the page that shows it.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400

    def __init__(self, message: Any, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
