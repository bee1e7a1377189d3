"""Secrets never reach a log: some addresses carry a token in their path (patient invitation
links /p/<token>, links to set a password, digest unsubscribe links).

:func:`redact` is used by gunicorn's access log (deploy/gunicorn.conf.py), by the
development server's access log (``make run``: werkzeug's logger, :class:`RedactRequestLines`)
and, through :class:`RedactTokens`, by the app's own log, where Flask writes "Exception on
<path>" when a request fails.
"""

from __future__ import annotations

import logging
import re

from flask import Flask

# Paths whose next segment is a secret (tests/test_deploy.py checks that every route taking
# a token is covered).
TOKEN_PATH = re.compile(r"/(p|account/set-password|digest/unsubscribe)/[^/?#\s]+", re.IGNORECASE)


def redact(target: str) -> str:
    """A request target fit for a log: no query string, no token."""
    path = target.split("?", 1)[0].split("#", 1)[0]
    return TOKEN_PATH.sub(r"/\1/[token]", path)


class RedactTokens(logging.Filter):
    """Takes tokens out of a log record's message (its arguments merged in first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = TOKEN_PATH.sub(r"/\1/[token]", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# The request line in werkzeug's access log: "GET /p/abc?lang=es HTTP/1.1".
REQUEST_LINE = re.compile(r"(?P<method>[A-Z]+) (?P<target>\S+) (?P<version>HTTP/[\d.]+)")


class RedactRequestLines(RedactTokens):
    """The development server's access log, redacted as gunicorn's is: no query string, no
    token (and any other token in the message, as in the app's log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = REQUEST_LINE.sub(
            lambda m: f"{m['method']} {redact(m['target'])} {m['version']}", message
        )
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return super().filter(record)


def init_app(app: Flask) -> None:
    app.logger.addFilter(RedactTokens())
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactRequestLines) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(RedactRequestLines())
