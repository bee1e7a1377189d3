"""The read API under /api/v1: JSON for a school's dashboards, LMS and SIS.

flask-smorest (marshmallow + apispec) was chosen over spectree and bare apispec: it builds
the OpenAPI 3.1 document from the same schemas that serialise the responses and parse the
query strings (webargs gives a JSON 422 for bad input), plugs into Flask blueprints as the
rest of the app does, and is maintained. Its app-wide JSON error handler is kept to the API
blueprint, so the pages keep their HTML error pages.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


class ScopedApi(Api):
    def _register_error_handlers(self) -> None:
        """JSON errors for the API's requests only (registered on its blueprint)."""


def init_app(app: Flask) -> None:
    from clerkship.api.views import bp

    api = ScopedApi(
        app,
        spec_kwargs={
            "info": {
                "description": "Read-only access to one program's records. Authenticate with "
                "`Authorization: Bearer <token>` (a token from the program's API tokens page)."
            },
        },
    )
    api.spec.components.security_scheme(
        "token", {"type": "http", "scheme": "bearer", "description": "A program API token."}
    )
    api.register_blueprint(bp)
    app.extensions["clerkship_api"] = api
