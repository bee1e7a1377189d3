"""Error pages. Their status (>= 400) makes clerkship.transactions roll the request back."""

from __future__ import annotations

from flask import Flask, Response, render_template
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


def render_error(code: int, detail: str | None = None):
    fallback = MESSAGES[500] if code >= 500 else MESSAGES[400]
    title, hint = MESSAGES.get(code, fallback)
    return render_template("errors/error.html", code=code, title=title, hint=detail or hint), code


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

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return render_error(error.code)

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError):
        return render_error(500)
