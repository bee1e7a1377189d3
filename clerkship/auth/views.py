from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from clerkship.auth import bp, links, service
from clerkship.auth.forms import ChangePasswordForm, SetPasswordForm, SignInForm
from clerkship.extensions import db, limiter


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never redirect a sign-in to another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _submitted_email() -> str:
    return "sign-in:" + service.normalise_email(request.form.get("email", ""))[:254]


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
        db.session.commit()
        if user is not None:
            next_url = _safe_next(request.args.get("next"))
            # A fresh session at sign-in: nothing from before carries over (no fixation).
            session.clear()
            login_user(user)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(next_url or url_for("home.index"))
        form.password.errors.append(_("That email and password do not match an active account."))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/sign_in.html", form=form), status


@bp.route("/sign-out", methods=["POST"])
@login_required
def sign_out():
    service.sign_out(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.sign_in"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            service.change_password(user, form.current_password.data, form.new_password.data)
        except service.WrongPassword:
            db.session.commit()  # keep the audit record of the refused attempt
            form.current_password.errors.append(_("That is not your current password."))
        else:
            db.session.commit()
            login_user(user)  # this session carries on under the new token
            flash(
                _("Your password has been changed. Any other devices have been signed out."),
                "success",
            )
            return redirect(url_for("home.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/change_password.html", form=form), status


@bp.route("/account/set-password/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_IN_RATE_LIMIT"], methods=["POST"])
def set_password(token: str):
    """From an invitation or reset e-mail: choose a password, once, before the link expires."""
    user = links.user_for(token)
    if user is None:
        return render_template("auth/link_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        service.set_new_password(user, form.new_password.data)
        db.session.commit()
        logout_user()
        session.clear()
        flash(_("Your password is set. Sign in with it now."), "success")
        return redirect(url_for("auth.sign_in"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/set_password.html", form=form, user=user), status
