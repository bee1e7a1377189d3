"""Flask-Login wiring: the session cookie, who is signed in, and the sign-in-again page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, redirect, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_url

from clerkship import transactions
from clerkship.auth import sessions
from clerkship.models import User

# Where the cookie keeps this browser's session key (see clerkship.auth.sessions).
SESSION_KEY = "sid"
# Requests a page makes by itself (progress polling): they do not count as activity.
PASSIVE_ENDPOINTS = frozenset({"static", "portfolios.job_status"})
# Requests a script makes: a signed-out answer is 401 for the script, not a sign-in page.
SCRIPT_ENDPOINTS = frozenset({"auth.keep_alive"})


def _return_to() -> str | None:
    """Where to go after signing in again. A form sent after the session ended goes back to
    the page it was on (its own address may take POST only), never to another site."""
    if request.method in ("GET", "HEAD"):
        return request.url
    page = urlsplit(request.referrer or "")
    if page.netloc != request.host or not page.path.startswith("/"):
        return None
    return page.path + (f"?{page.query}" if page.query else "")


def init_login(app: Flask, login_manager: LoginManager) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = app.config["SESSION_PROTECTION"]

    @login_manager.user_loader
    def load_user(session_token: str) -> User | None:
        # The id in the cookie is the rotating session token, never the primary key, and the
        # browser's own key must name a live session row: rotating the token (deactivation)
        # or ending the row (sign-out, "sign out other devices") ends the session at once.
        try:
            user, g.sign_in_session = sessions.live(session_token, session.get(SESSION_KEY))
            return user
        except sessions.Expired as expired:
            g.session_expired = expired.reason
        except LookupError:
            pass
        return None

    @login_manager.unauthorized_handler
    def sign_in_again():
        reason = g.pop("session_expired", None)
        # Drop what is left of a dead session so the cookie stops naming it.
        for key in ("_user_id", "_fresh", "_id", SESSION_KEY):
            session.pop(key, None)
        if request.endpoint in SCRIPT_ENDPOINTS:
            return "", 401  # the page shows its own notice (static/js/keep-alive.js)
        if reason == "idle":
            minutes = current_app.config["SESSION_IDLE_MINUTES"]
            flash(
                _(
                    "You were signed out after %(n)d minutes without activity. "
                    "Sign in again to carry on.",
                    n=minutes,
                ),
                "info",
            )
        elif reason == "max_age":
            hours = current_app.config["SESSION_MAX_HOURS"]
            flash(
                _("You have been signed in for %(n)d hours. Please sign in again.", n=hours),
                "info",
            )
        else:
            flash(login_manager.login_message, login_manager.login_message_category)
        return redirect(login_url(login_manager.login_view, next_url=_return_to()))

    @app.before_request
    def note_activity():
        key = session.get(SESSION_KEY)
        if not key or request.endpoint in PASSIVE_ENDPOINTS or not current_user.is_authenticated:
            return
        signed_in = g.get("sign_in_session")
        if signed_in is None or not sessions.due(signed_in):
            return  # recorded less than a minute ago: nothing to write
        # Kept with the request's success (clerkship.transactions); a refused request is no
        # activity. On a page, written after it, so the page itself only reads.
        transactions.side_write(lambda: sessions.touch(key))
