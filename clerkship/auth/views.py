from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from clerkship.auth import bp, links, service
from clerkship.auth import sessions as auth_sessions
from clerkship.auth.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    SetPasswordForm,
    SignInForm,
)
from clerkship.auth.login import SESSION_KEY
from clerkship.extensions import limiter
from clerkship.formerrors import put_error
from clerkship.sso import service as school_service
from clerkship.sso.saml import SUBJECT_KEY as SAML_SUBJECT_KEY


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never redirect a sign-in to another host."""
    if not target:
        return None
    # Browsers read a backslash as a slash ("/\\evil.example" is "//evil.example") and drop
    # tabs and line breaks, so none of them may appear at all.
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _submitted_email() -> str:
    return "sign-in:" + service.normalise_email(request.form.get("email", ""))[:254]


def _user_agent() -> str:
    return request.headers.get("User-Agent", "")


def _failed(response) -> bool:
    # Only failed attempts count towards the limits; signing in successfully is free.
    return response.status_code != 302


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["SIGN_IN_RATE_LIMIT"], methods=["POST"], deduct_when=_failed
)
@limiter.limit(
    lambda: current_app.config["SIGN_IN_ACCOUNT_RATE_LIMIT"],
    methods=["POST"],
    key_func=_submitted_email,
    deduct_when=_failed,
)
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = SignInForm()
    if form.validate_on_submit():
        user = service.authenticate(form.email.data, form.password.data)
        if user is not None and not school_service.password_allowed(user):
            form.password.errors.append(
                _("Your program asks you to sign in with your school account.")
            )
            return render_template("auth/sign_in.html", form=form), 400
        key = service.sign_in(user, _user_agent()) if user is not None else None
        if user is not None:
            next_url = _safe_next(request.args.get("next"))
            # A fresh session at sign-in: nothing from before carries over (no fixation).
            session.clear()
            login_user(user)
            session[SESSION_KEY] = key
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(next_url or url_for("home.index"))
        form.password.errors.append(_("That email and password do not match an active account."))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/sign_in.html", form=form), status


@bp.route("/sign-out", methods=["POST"])
@login_required
def sign_out():
    from clerkship.sso import saml_views  # imports this module

    method, subject = session.get(saml_views.METHOD_KEY), session.get(SAML_SUBJECT_KEY)
    service.sign_out(current_user._get_current_object(), session.get(SESSION_KEY))
    logout_user()
    session.clear()
    # Signed in through SAML: our session has ended; now ask the IdP to end its own. A page
    # with a link, not a redirect: CSP's form-action 'self' stops a form's redirect elsewhere.
    at_school = saml_views.single_logout_after_sign_out(method, subject)
    if at_school:
        return render_template("sso/saml_logout.html", url=at_school)
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.sign_in"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    form.user = user
    if form.validate_on_submit():
        try:
            ended = service.change_password(
                user,
                form.current_password.data,
                form.new_password.data,
                end_others=form.end_other_sessions.data,
                this_session=session.get(SESSION_KEY),
            )
        except service.WrongPassword as error:
            put_error(form, error)  # the refused attempt is audited anyway (record_refusal)
        else:
            message = _("Your password has been changed.")
            if ended:
                message += " " + _("Your other devices have been signed out.")
            flash(message, "success")
            return redirect(url_for("home.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/change_password.html", form=form), status


@bp.route("/account/sessions")
@login_required
def sessions_list():
    user = current_user._get_current_object()
    live = auth_sessions.live_for(user, session.get(SESSION_KEY))
    return render_template("auth/sessions.html", live=live)


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    ended = service.end_other_sessions(
        current_user._get_current_object(), session.get(SESSION_KEY)
    )
    flash(
        ngettext(
            "%(num)d other session has been signed out.",
            "%(num)d other sessions have been signed out.",
            ended,
        ),
        "success",
    )
    return redirect(url_for("auth.sessions_list"))


@bp.route("/account/keep-alive", methods=["POST"])
@login_required
def keep_alive():
    """Someone is typing on a long form: activity, even though no page has been loaded."""
    return "", 204


def _reset_email() -> str:
    return "reset:" + service.normalise_email(request.form.get("email", ""))[:254]


def _reset_requested(response) -> bool:
    # Only requests that could send an e-mail count: a typo does not use up anyone's turns.
    return response.status_code == 200


@bp.route("/account/forgot-password", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["PASSWORD_RESET_RATE_LIMIT"],
    methods=["POST"],
    deduct_when=_reset_requested,
)
@limiter.limit(
    lambda: current_app.config["PASSWORD_RESET_ACCOUNT_RATE_LIMIT"],
    methods=["POST"],
    key_func=_reset_email,
    deduct_when=_reset_requested,
)
def forgot_password():
    if current_user.is_authenticated:
        return redirect(url_for("auth.change_password"))
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        service.request_reset(form.email.data)
        return render_template("auth/reset_sent.html", email=form.email.data)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/forgot_password.html", form=form), status


@bp.route("/account/set-password/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_IN_RATE_LIMIT"], methods=["POST"])
def set_password(token: str):
    """From an invitation or reset e-mail: choose a password, once, before the link expires."""
    user = links.user_for(token)
    if user is None:
        return render_template("auth/link_invalid.html"), 404
    form = SetPasswordForm()
    form.user = user
    if form.validate_on_submit():
        service.set_new_password(user, form.new_password.data)
        logout_user()
        session.clear()
        flash(_("Your password is set. Sign in with it now."), "success")
        return redirect(url_for("auth.sign_in"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/set_password.html", form=form, user=user), status
