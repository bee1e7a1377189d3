"""Absolute links for e-mails and QR codes, which may be built outside a request (commands,
jobs). They come from ``BASE_URL`` only: a request's Host header is whatever the client sent,
so a link built from it could point a password reset at someone else's site."""

from __future__ import annotations

from flask import current_app, url_for


def external_url(endpoint: str, **values) -> str:
    """``endpoint``'s address under ``BASE_URL`` (e.g. https://lic.example.edu/goals/3)."""
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        return url_for(endpoint, _external=True, **values)
