"""SAML routes: SP metadata, start a sign-in, the assertion consumer service (ACS) and single
logout. The rules are in :mod:`clerkship.sso.saml` and :mod:`clerkship.sso.service`."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from clerkship import database
from clerkship.audit import record_refusal
from clerkship.auth import service as auth_service
from clerkship.auth.login import SESSION_KEY
from clerkship.auth.views import _safe_next
from clerkship.extensions import csrf
from clerkship.sso import saml
from clerkship.sso.views import METHOD_KEY, bp, fresh_done, refused, signed_in


@bp.errorhandler(saml.Unavailable)
def saml_unavailable(_error):
    """The IdP's metadata cannot be read (logged in clerkship.sso.saml): a readable page."""
    return refused("unavailable", 503)


@bp.route("/sso/saml/metadata")
def saml_metadata():
    """What the school's IdP needs to know about us; answers in development out of the box."""
    try:
        xml = saml.metadata_xml()
    except RuntimeError:  # production without SAML_SP_KEY/SAML_SP_CERT, or no xmlsec1
        current_app.logger.exception("SAML metadata unavailable")
        abort(404)
    return Response(xml, mimetype="application/samlmetadata+xml")


@bp.route("/sign-in/school/saml")
def saml_start():
    if not saml.enabled():
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    return redirect(saml.start(_safe_next(request.args.get("next"))))


# CSRF-exempt on purpose: the IdP's page posts here, from another site, without our token.
# What replaces the token: the response must carry the IdP's signature, answer (InResponseTo)
# the one request this browser's session started, and bring back that request's random
# RelayState; an assertion id is accepted once. tests/sso/test_saml.py posts forged ones.
@csrf.exempt
@bp.route("/sso/saml/acs", methods=["POST"])
def saml_acs():
    if not saml.enabled():
        abort(404)
    fields = saml.relay_fields(request.form)
    if not saml.has_pending() and not request.form.get("relayed"):
        # A cross-site POST does not carry our SameSite=Lax session cookie: post the same
        # fields again from our own page (same-site, so the cookie comes with it).
        return render_template("sso/saml_relay.html", fields=fields)
    try:
        answer = saml.finish(fields["SAMLResponse"], fields["RelayState"])
    except saml.Refused as error:
        _record(error, "auth.school_sign_in_refused")
        return refused("untrusted", 400)
    if answer.fresh_asked_at is not None:
        return fresh_done(answer.claims, "saml", answer.next_url)
    return signed_in(answer.claims, "saml", answer.next_url, subject=answer.subject)


@bp.route("/sso/saml/slo")
@database.writes
def saml_slo():
    """Single logout over the HTTP-Redirect binding: the IdP's answer to our LogoutRequest,
    or the IdP's own LogoutRequest (the person signed out at the school or elsewhere)."""
    if not saml.enabled():
        abort(404)
    query = {key: request.args[key] for key in request.args}
    try:
        if "SAMLResponse" in query:
            saml.finish_logout(query)
            flash(_("You have also been signed out of your school account."), "info")
            return redirect(url_for("auth.sign_in"))
        if "SAMLRequest" in query:
            ours, answer_url = saml.idp_logout_request(query, session.get(saml.SUBJECT_KEY))
            if ours and current_user.is_authenticated:
                _end_session()
            return redirect(answer_url)
    except saml.Refused as error:
        _record(error, "auth.single_logout_refused")
        return refused("untrusted", 400)
    abort(400)


def _record(error: saml.Refused, action: str) -> None:
    record_refusal(
        None,
        action,
        None,
        after={"method": "saml", "reason": error.reason, "detail": error.detail},
    )


def _end_session() -> None:
    auth_service.sign_out(current_user._get_current_object(), session.get(SESSION_KEY))
    logout_user()
    session.clear()


def single_logout_after_sign_out(method: str | None, subject) -> str | None:
    """Called by the sign-out view once our session has ended: where to send the browser so
    that the IdP ends its session too (None: it has no single logout, or not SAML)."""
    if method != "saml" or not saml.enabled():
        return None
    return saml.start_logout(subject)


__all__ = ["METHOD_KEY", "single_logout_after_sign_out"]
