"""The clock: the one place Clerkship asks what time and what day it is.

Times are timezone-aware UTC (``datetime.now(UTC)``); "today" is the UTC date, the same day
for every access window (an assignment or panel entry active on a date). Import from here
rather than calling ``datetime.now()``/``date.today()``: ruff's DTZ rules refuse naive clocks.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in UTC."""
    return utcnow().date()


def at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """``day`` at ``hour:minute`` UTC, timezone-aware."""
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)
