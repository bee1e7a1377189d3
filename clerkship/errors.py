"""Error pages. Their status (>= 400) makes clerkship.transactions roll the request back.

A database that cannot be reached gives 503 and a page that needs nothing: no template that
loads the signed-in user, no translation lookup that reads their language. Any error page that
fails to render falls back to that same static page, never to the server's bare text.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

import sqlalchemy.exc
from flask import Flask, Response, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

MESSAGES = {
    400: (
        _l("Something in the request was not right"),
        _l("Go back, check what you entered and try again."),
    ),
    403: (_l("Not allowed"), _l("Your account cannot do this.")),
    404: (_l("Page not found"), _l("The page does not exist, or you do not have access to it.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    413: (
        _l("Too large"),
        _l("What you sent is larger than we accept (16 MB; roster files up to 5 MB)."),
    ),
    429: (_l("Too many attempts"), _l("Please wait a minute before trying again.")),
    500: (
        _l("Something went wrong on our side"),
        _l(
            "Nothing you entered was saved. Please try again in a moment; "
            "if it keeps happening, tell your program office."
        ),
    ),
}


# The database (or its connection) is away: worth trying again shortly, not a bug.
DATABASE_UNAVAILABLE = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)
RETRY_AFTER_SECONDS = 30

STATIC_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — Clerkship</title>
<style>body{{font:1.125rem/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;
padding:0 1rem;color:#1a1a1a}}h1{{font-size:1.5rem}}.code{{color:#555}}</style></head>
<body><main><p class="code">Error {code}</p><h1>{title}</h1><p>{hint}</p>
<p><a href="/">Go to your home page</a></p></main></body></html>
"""

UNAVAILABLE = (
    "Clerkship is briefly unavailable",
    "Nothing you entered was saved. Please try again in a minute; your work so far is safe.",
)


def static_page(code: int, title: str, hint: str) -> Response:
    """An error page built from nothing but this string (English only, by necessity)."""
    page = STATIC_PAGE.format(code=code, title=escape(title), hint=escape(hint))
    response = Response(page, code, mimetype="text/html")
    if code == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def render_error(code: int, detail: str | None = None):
    fallback = MESSAGES[500] if code >= 500 else MESSAGES[400]
    title, hint = MESSAGES.get(code, fallback)
    try:
        return render_template(
            "errors/error.html", code=code, title=title, hint=detail or hint
        ), code
    except Exception:  # the page itself failed (often: the database is away); say it plainly
        current_app.logger.exception("error page %s could not be rendered", code)
        return static_page(code, str(title), str(detail or hint))


# Blueprints that answer errors in a format of their own (the API: JSON), by name: how they
# answer an error found after their view returned (a failed commit, an audit row unwritten).
_OWN_FORMAT: dict[str, Callable[[int, str], Response]] = {}


def own_format(blueprint: str, answer: Callable[[int, str], Response]) -> None:
    _OWN_FORMAT[blueprint] = answer


def late_failure(code: int, message: str) -> Response:
    """The answer when the request failed after its view (clerkship.transactions): a page for
    a person, the API's own error format for a program."""
    answer = _OWN_FORMAT.get(request.blueprint or "")
    if answer is not None:
        return answer(code, message)
    body, status = render_error(code, message)
    return Response(body, status, mimetype="text/html")


def init_app(app: Flask) -> None:
    @app.errorhandler(SecurityError)
    def untrusted_host(error: SecurityError):
        # A Host outside TRUSTED_HOSTS: no URLs can be built for it, so no page either.
        return Response(
            "Bad request: this host name is not served here.\n", 400, mimetype="text/plain"
        )

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400,
            _l("The form had expired or was sent from somewhere else. Reload it and try again."),
        )

    @app.errorhandler(sqlalchemy.exc.OperationalError)
    @app.errorhandler(sqlalchemy.exc.InterfaceError)
    def database_unavailable(error: Exception):
        # The 503 status makes clerkship.transactions roll the request back.
        current_app.logger.error("database unavailable: %s", str(error).splitlines()[0][:300])
        return static_page(503, *UNAVAILABLE)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return render_error(error.code)

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError):
        return render_error(500)
