"""The public keys (JWKS) and the integrity page (chain head, last full check, check now)."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from clerkship import signing_keys
from clerkship.integrity import bp, chain, service
from clerkship.permissions import can_view_integrity


@bp.route("/.well-known/jwks.json")
def jwks():
    """Current and retired public keys: anyone can check a signature made by this program."""
    response = jsonify(signing_keys.ring().jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _require_integrity_reader() -> None:
    if not can_view_integrity(current_user):
        abort(404)


@bp.route("/integrity")
@login_required
def page():
    _require_integrity_reader()
    return render_template("integrity/page.html", head=chain.head(), check=service.last_check())


@bp.route("/integrity/check", methods=["POST"])
@login_required
def check_now():
    _require_integrity_reader()
    result = service.full_check()  # stored by the request's commit, problems or not
    if result.ok:
        flash(_("Every signature and the whole chain check out."), "success")
    else:
        flash(_("The check found problems: see below."), "error")
    return redirect(url_for("integrity.page"))
