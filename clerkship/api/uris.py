"""Stable identifiers the API and credentials hand out."""

from __future__ import annotations

from flask import current_app

from clerkship.models import Competency


def competency_uri(competency: Competency) -> str:
    """The URI of a competency: its own ``uri`` when the framework gave one, else a stable
    address under this instance's BASE_URL (framework code + competency code never change)."""
    own = getattr(competency, "uri", None)
    if own:
        return own
    base = current_app.config["BASE_URL"].rstrip("/")
    return f"{base}/frameworks/{competency.framework.code}/competencies/{competency.code}"
