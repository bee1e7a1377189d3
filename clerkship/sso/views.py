"""School sign-in routes: start, come back from the provider, and the fresh sign-in to sign.
OpenID Connect here; SAML (metadata, ACS, single logout) in :mod:`clerkship.sso.saml_views`."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from clerkship import database
from clerkship.audit import record_refusal
from clerkship.auth import service as auth_service
from clerkship.auth.login import SESSION_KEY
from clerkship.auth.views import _safe_next
from clerkship.sso import oidc, saml, service

bp = Blueprint("sso", __name__)

# The session remembers how this browser signed in, and a fresh proof for one signature.
METHOD_KEY = "signed_in_with"
PROOF_KEY = "fresh_sign_in"
NEXT_KEY = "sso_next"


def signed_in_with_school() -> bool:
    return session.get(METHOD_KEY) in ("oidc", "saml")


def take_proof(user) -> dict | None:
    """The fresh school sign-in to record with a signature; usable once."""
    return service.usable_proof(user, session.get(PROOF_KEY))


def spend_proof() -> None:
    session.pop(PROOF_KEY, None)


def refused(reason: str, status: int = 403):
    return render_template("sso/refused.html", reason=reason), status


@bp.route("/sign-in/school")
def start():
    if not oidc.enabled():
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    next_url = _safe_next(request.args.get("next"))
    session[NEXT_KEY] = next_url
    return oidc.start(url_for("sso.callback", _external=True))


@bp.route("/sign-in/school/confirm")
@login_required
def confirm():
    """Before a signature: sign in at the school again, whatever session the provider has
    (OIDC prompt=login and max_age=0; SAML ForceAuthn), through the way this session began."""
    method = session.get(METHOD_KEY)
    next_url = _safe_next(request.args.get("next"))
    if method == "saml" and saml.enabled():
        return redirect(saml.start(next_url, fresh=True))
    if method != "oidc" or not oidc.enabled():
        abort(404)
    session[NEXT_KEY] = next_url
    return oidc.start(url_for("sso.callback", _external=True), fresh=True)


@bp.route("/sign-in/school/callback")
@database.writes
def callback():
    if not oidc.enabled():
        abort(404)
    next_url = session.pop(NEXT_KEY, None)
    try:
        claims, fresh_asked = oidc.finish()
    except oidc.Refused as error:
        record_refusal(None, "auth.school_sign_in_refused", None, after={"reason": error.reason})
        return refused("untrusted", 400)
    if fresh_asked is not None:
        return fresh_done(claims, "oidc", next_url)
    return signed_in(claims, "oidc", next_url)


def signed_in(claims: dict, method: str, next_url: str | None, subject: dict | None = None):
    """The verified claims of a plain school sign-in (OIDC or SAML): link, start a session."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    try:
        user = service.person_for(claims, method)
    except service.NotLinked as not_linked:
        return refused(not_linked.reason)
    key = auth_service.sign_in(user, request.headers.get("User-Agent", ""))
    session.clear()  # a fresh session at sign-in: nothing from before carries over
    login_user(user)
    session[SESSION_KEY] = key
    session[METHOD_KEY] = method
    if subject is not None:
        session[saml.SUBJECT_KEY] = subject  # what single logout names
    flash(_("Welcome, %(name)s.", name=user.name), "success")
    return redirect(_safe_next(next_url) or url_for("home.index"))


def fresh_done(claims: dict, method: str, next_url: str | None):
    """A fresh school sign-in before a signature: the same person, proven again just now."""
    if not current_user.is_authenticated:
        return refused("untrusted", 400)
    try:
        user = service.person_for(claims, method)
    except service.NotLinked as not_linked:
        return refused(not_linked.reason)
    if user.id != current_user.id:
        record_refusal(user, "auth.fresh_sign_in_other_person", current_user)
        return refused("other_person")
    session[PROOF_KEY] = service.fresh_proof(user, method, claims)
    flash(_("Thank you. You can sign now."), "info")
    return redirect(_safe_next(next_url) or url_for("home.index"))
