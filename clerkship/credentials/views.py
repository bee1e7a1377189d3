"""Credential downloads (student, their director), the public issuer profile, achievement
definitions and status lists, and the public verify page."""

from __future__ import annotations

from flask import Response, abort, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from clerkship import database
from clerkship.credentials import bp, documents, service, vcjwt
from clerkship.credentials.forms import MAX_TOKEN, CredentialVerifyForm
from clerkship.extensions import db, limiter
from clerkship.models import AssessmentCycle, Competency, Program, User
from clerkship.permissions import can_download_credentials, load_or_404


def _jwt_file(token: str, name: str) -> Response:
    response = Response(token, mimetype=vcjwt.MEDIA_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _student(student_id: int) -> User:
    return load_or_404(User, student_id, can_download_credentials, owner=lambda s: s.id)


@bp.route("/portfolios/<int:student_id>/credentials/<int:cycle_id>.jwt")
@database.writes
@login_required
def achievement(student_id: int, cycle_id: int):
    student = _student(student_id)
    cycle = db.session.get(AssessmentCycle, cycle_id)
    if cycle is None:
        abort(404)
    try:
        token = service.achievement_jwt(current_user._get_current_object(), student, cycle)
    except service.NotIssuable:
        abort(404)
    return _jwt_file(token, f"entrustment-{cycle.competency.code}-{cycle.id}.jwt")


@bp.route("/portfolios/<int:student_id>/credentials/clr.jwt")
@database.writes
@login_required
def clr(student_id: int):
    student = _student(student_id)
    try:
        token = service.clr_jwt(current_user._get_current_object(), student)
    except service.NotIssuable:
        abort(404)
    return _jwt_file(token, f"learner-record-{student.id}.jwt")


def _public_program(program_id: int) -> Program:
    program = service.issuing_program(program_id)
    if program is None:
        abort(404)  # a program that never issued and issues no credentials has no profile
    return program


@bp.route("/credentials/issuers/<int:program_id>")
def issuer(program_id: int):
    response = jsonify(
        {"@context": [documents.VC_CONTEXT, documents.OB_CONTEXT]}
        | documents.issuer_profile(_public_program(program_id))
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/credentials/achievements/<int:program_id>/<int:competency_id>")
def achievement_definition(program_id: int, competency_id: int):
    program = _public_program(program_id)
    competency = db.session.get(Competency, competency_id)
    if competency is None:
        abort(404)  # frameworks are public set-up data: any loaded competency has a definition
    body = {"@context": [documents.VC_CONTEXT, documents.OB_CONTEXT]}
    return jsonify(body | documents.achievement(program, competency))


@bp.route("/credentials/keys/<thumbprint>")
def key(thumbprint: str):
    """The public key a credential's ``kid`` names, as a bare JWK (Open Badges 3.0, 8.2.3)."""
    jwk = vcjwt.public_jwk(thumbprint)
    if jwk is None:
        abort(404)
    response = jsonify(jwk)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/credentials/status/<int:program_id>")
def status_list(program_id: int):
    """The program's revocation list, signed like the credentials (a verifier checks both)."""
    token = service.status_list_jwt(_public_program(program_id))
    response = Response(token, mimetype=vcjwt.MEDIA_TYPE)
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


def _submitted_token(form: CredentialVerifyForm) -> str | None:
    """The credential sent (the file wins over the pasted text), or None with the reason on
    the form."""
    if not form.validate_on_submit():
        return None
    upload = form.file.data
    if upload is not None and getattr(upload, "filename", None):
        try:
            raw = upload.stream.read(MAX_TOKEN + 1)
        finally:
            upload.close()  # a large upload is spooled to a temporary file
        if len(raw) > MAX_TOKEN:
            form.file.errors = [_("This file is too large to be a credential.")]
            return None
        token = raw.decode("utf-8", errors="replace")
    else:
        token = form.token.data or ""
    if not token.strip():
        form.token.errors = [_("Paste the credential or choose its file.")]
        return None
    return token


@bp.route("/credentials/verify", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["VERIFY_RATE_LIMIT"])
def verify():
    """Anyone holding a credential can check it: signature, dates and revocation. With
    ``?id=`` (a credential's evidence link) it also says what was issued under that id."""
    form = CredentialVerifyForm()
    verdict, status = None, 200
    if request.method == "POST":
        token = _submitted_token(form)
        if token is None:
            status = 400
        else:
            verdict = service.verify_here(token)
    credential_id = (request.args.get("id") or "").strip()
    record = service.issued_record(credential_id) if credential_id else None
    if credential_id and record is None:
        status = 404
    return render_template(
        "credentials/verify.html",
        form=form,
        verdict=verdict,
        credential_id=credential_id,
        record=record,
    ), status
