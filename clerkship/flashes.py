"""Messages after a redirect, shown where the user lands.

A redirect to ``…#thread`` scrolls the page past its top, where messages usually sit (on a
phone 1,500 px above). :func:`flash_at` gives the message a place; the page shows it at that
spot with ``{{ flashes("thread") }}`` (templates/_flashes.html).
"""

from __future__ import annotations

from flask import flash


def flash_at(place: str, message: str, category: str = "success") -> None:
    flash(message, f"{category}@{place}")
