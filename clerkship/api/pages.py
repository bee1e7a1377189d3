"""The API tokens page of a program: list, make (the secret is shown once), revoke."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from clerkship import submissions
from clerkship.api import tokens
from clerkship.api.forms import TokenForm
from clerkship.domain import DomainError
from clerkship.formerrors import put_error
from clerkship.models import ApiToken, Program
from clerkship.permissions import can_manage_api_tokens, can_revoke_api_token, load_or_404

bp = Blueprint("api_tokens", __name__)


def _page(program: Program, form: TokenForm, status: int = 200, secret: str | None = None):
    response = render_template(
        "api/tokens.html",
        program=program,
        form=form,
        tokens=tokens.program_tokens(program),
        secret=secret,
    )
    headers = {"Cache-Control": "no-store"} if secret else {}
    return response, status, headers


@bp.route("/programs/<int:program_id>/api-tokens", methods=["GET", "POST"])
@login_required
def index(program_id: int):
    program = load_or_404(Program, program_id, can_manage_api_tokens)
    form = TokenForm()
    if not form.is_submitted():
        return _page(program, form)
    # A create form: refused without its double-submit token too, and shown again as sent.
    if not (form.validate() and submissions.sent_with_token()):
        return _page(program, form, 400)
    if (again := submissions.repeated()) is not None:
        return again
    try:
        _token, secret = tokens.create_token(
            current_user._get_current_object(), program, form.name.data or "", form.days.data or 0
        )
    except DomainError as error:
        put_error(form, error)
        return _page(program, form, 400)
    # A resend of this form lands on the list: the secret is never shown twice.
    submissions.done(url_for("api_tokens.index", program_id=program.id))
    return _page(program, TokenForm(formdata=None), 201, secret=secret)


@bp.route("/api-tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int):
    token = load_or_404(ApiToken, token_id, can_revoke_api_token)
    tokens.revoke_token(current_user._get_current_object(), token)
    flash(_("The token no longer works."), "success")
    return redirect(url_for("api_tokens.index", program_id=token.program_id))
