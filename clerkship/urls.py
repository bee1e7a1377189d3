"""Absolute links for e-mails and QR codes, which may be built outside a request (commands,
jobs). They come from ``BASE_URL`` only: a request's Host header is whatever the client sent,
so a link built from it could point a password reset at someone else's site."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    """``endpoint``'s address under ``BASE_URL`` (e.g. https://lic.example.edu/goals/3)."""
    # The URL map bound to BASE_URL builds the link directly: a request context made for
    # each link cost more than the rest of a notification (lists of links in the API, the
    # demo year's thousands of notifications).
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=True)
