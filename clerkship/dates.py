"""One way to show a date or a moment, in the reader's language (Flask-Babel's locale: the
patient's chosen language on patient pages, the user's elsewhere; the default in jobs).

Pages, e-mails and PDFs all go through these (the ``date`` and ``datetime`` Jinja filters),
so "22 nov 2026" and "Nov 22, 2026, 10:05 AM UTC" are the only shapes anyone reads. Stored
and signed data keep ISO text; it is turned into words only here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from babel.dates import format_skeleton
from flask_babel import format_date, format_time, get_locale, to_user_timezone

Value = date | datetime | str | None


def _parse(value: Value) -> date | datetime | None:
    """Dates and moments, or the ISO text the portfolio data keeps ("2026-11-22",
    "2026-11-22 10:05 UTC", "2026-11-22T10:05:00+00:00")."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    text = value.strip().removesuffix(" UTC")
    moment = datetime.fromisoformat(text) if len(text) > 10 else date.fromisoformat(text)
    if isinstance(moment, datetime) and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # we store UTC
    return moment


def show_date(value: Value) -> str:
    """``Nov 22, 2026`` / ``22 nov 2026``: the day only."""
    parsed = _parse(value)
    return format_date(parsed, "medium") if parsed is not None else ""


def show_datetime(value: Value) -> str:
    """``Nov 22, 2026, 10:05 AM UTC``: the day, the time and the zone it is told in."""
    parsed = _parse(value)
    if parsed is None:
        return ""
    if not isinstance(parsed, datetime):
        return show_date(parsed)
    pattern = str(get_locale().datetime_formats["medium"])  # e.g. "{1}, {0}"
    time = f"{format_time(parsed, 'short')} {format_time(parsed, 'z')}"
    return pattern.replace("{1}", format_date(parsed, "medium")).replace("{0}", time)


def short_day(value: Value) -> str:
    """``Nov 22`` / ``22 nov``: an axis label, where the year is said elsewhere."""
    parsed = _parse(value)
    if parsed is None:
        return ""
    if isinstance(parsed, datetime):
        parsed = to_user_timezone(parsed)
    return format_skeleton("MMMd", parsed, locale=get_locale())
