"""School sign-in routes: start, come back from the provider, and the fresh sign-in to sign."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from clerkship.audit import record_refusal
from clerkship.auth import service as auth_service
from clerkship.auth.login import SESSION_KEY
from clerkship.auth.views import _safe_next
from clerkship.sso import oidc, service

bp = Blueprint("sso", __name__)

# The session remembers how this browser signed in, and a fresh proof for one signature.
METHOD_KEY = "signed_in_with"
PROOF_KEY = "fresh_sign_in"
NEXT_KEY = "sso_next"


def signed_in_with_school() -> bool:
    return session.get(METHOD_KEY) == "oidc"


def take_proof(user) -> dict | None:
    """The fresh school sign-in to record with a signature; usable once."""
    return service.usable_proof(user, session.get(PROOF_KEY))


def spend_proof() -> None:
    session.pop(PROOF_KEY, None)


def _refused(reason: str, status: int = 403):
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
    """Before a signature: sign in at the school again, whatever session the provider has."""
    if not oidc.enabled() or not signed_in_with_school():
        abort(404)
    session[NEXT_KEY] = _safe_next(request.args.get("next"))
    return oidc.start(url_for("sso.callback", _external=True), fresh=True)


@bp.route("/sign-in/school/callback")
def callback():
    if not oidc.enabled():
        abort(404)
    next_url = session.pop(NEXT_KEY, None)
    try:
        claims, fresh_asked = oidc.finish()
    except oidc.Refused as refused:
        record_refusal(None, "auth.school_sign_in_refused", None, after={"reason": refused.reason})
        return _refused("untrusted", 400)
    if fresh_asked is not None:
        return _fresh_done(claims, next_url)
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    try:
        user = service.person_for(claims, "oidc")
    except service.NotLinked as not_linked:
        return _refused(not_linked.reason)
    key = auth_service.sign_in(user, request.headers.get("User-Agent", ""))
    session.clear()  # a fresh session at sign-in: nothing from before carries over
    login_user(user)
    session[SESSION_KEY] = key
    session[METHOD_KEY] = "oidc"
    flash(_("Welcome, %(name)s.", name=user.name), "success")
    return redirect(_safe_next(next_url) or url_for("home.index"))


def _fresh_done(claims: dict, next_url: str | None):
    if not current_user.is_authenticated:
        return _refused("untrusted", 400)
    try:
        user = service.person_for(claims, "oidc")
    except service.NotLinked as not_linked:
        return _refused(not_linked.reason)
    if user.id != current_user.id:
        record_refusal(user, "auth.fresh_sign_in_other_person", current_user)
        return _refused("other_person")
    session[PROOF_KEY] = service.fresh_proof(user, "oidc", claims)
    flash(_("Thank you. You can sign now."), "info")
    return redirect(_safe_next(next_url) or url_for("home.index"))
