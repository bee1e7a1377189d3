"""Issuing: a student's entrustment decisions as signed credentials (the views and the API
call these; nothing else signs a credential)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from clerkship import signing_keys
from clerkship.clock import utcnow
from clerkship.credentials import decisions, documents, issuing, provenance, vcjwt
from clerkship.credentials.verify import StatusSource, Verdict, verify
from clerkship.directory.queries import latest_program_of
from clerkship.extensions import db
from clerkship.models import AssessmentCycle, IssuedCredential, Program, User
from clerkship.urls import external_url


class NotIssuable(LookupError):
    """Not (or no longer) an entrustment decision of this student."""


def achievement_jwt(actor: User, student: User, cycle: AssessmentCycle) -> str:
    program = latest_program_of(student.id)
    if cycle.student_id != student.id or not decisions.is_entrustment_decision(cycle, program):
        raise NotIssuable(cycle.id)
    assert program is not None  # a decision needs the program's marked level
    row = issuing.issued_for(cycle, program, actor)
    credential = documents.achievement_credential(row)
    return vcjwt.sign(documents.jwt_claims(credential))


def current_rows(actor: User, student: User) -> tuple[Program | None, list[IssuedCredential]]:
    """Rows for every decision standing now (made on first use, as a download would)."""
    program = latest_program_of(student.id)
    rows = [
        issuing.issued_for(cycle, program, actor)
        for cycle, gone in decisions.decisions_of(student)
        if not gone and program is not None
    ]
    return program, rows


def clr_jwt(actor: User, student: User) -> str:
    program, rows = current_rows(actor, student)
    if program is None or not rows:
        raise NotIssuable(student.id)
    credential = documents.clr_credential(student, program, rows)
    return vcjwt.sign(documents.jwt_claims(credential))


def status_list_jwt(program: Program, now: datetime | None = None) -> str:
    credential = documents.status_list_credential(program, now or utcnow())
    return vcjwt.sign(documents.jwt_claims(credential))


def issuing_program(program_id: int) -> Program | None:
    """A program that issues credentials, or did: its profile and status list stay public
    for as long as credentials it issued exist, even after it stops issuing new ones."""
    program = db.session.get(Program, program_id)
    if program is None:
        return None
    if decisions.threshold_level(program) is None and not issuing.has_issued(program):
        return None
    return program


def instance_status_source(url: str) -> str | None:
    """This instance's own status lists, built from the database (no network)."""
    prefix = external_url("credentials.status_list", program_id=1)[:-1]
    tail = url[len(prefix) :] if url.startswith(prefix) else ""
    program = issuing_program(int(tail)) if tail.isdigit() and len(tail) < 10 else None
    return status_list_jwt(program) if program is not None else None


def verify_here(
    token: str, jwks: dict | None = None, status_source: StatusSource | None = None
) -> Verdict:
    """Verify a credential this instance issued: against its published keys (or a downloaded
    JWKS) and its status lists (or downloaded ones), and against what it issued under that id
    (the page and ``flask verify-credential``)."""
    return verify(
        token,
        jwks if jwks is not None else signing_keys.ring().jwks(),
        status_source or instance_status_source,
        issued=provenance.check,
    )


def issued_record(credential_uuid: str) -> IssuedCredential | None:
    return issuing.by_uuid(credential_uuid)


def base_url() -> str:
    return current_app.config["BASE_URL"]
