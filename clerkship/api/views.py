"""The read API's operations: every one needs a token, reads through clerkship.api.queries,
and answers 404 for anything the token's maker could not open on the pages."""

from __future__ import annotations

from flask import Response, current_app, g, make_response, request
from flask_smorest import Blueprint, abort
from werkzeug.exceptions import HTTPException, default_exceptions

from clerkship import errors, permissions
from clerkship.api import queries, tokens
from clerkship.api import schemas as s
from clerkship.domain import DomainError
from clerkship.extensions import db, limiter
from clerkship.models import User
from clerkship.portfolios.data import feedback_summary

bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Programs, people, goals, assessments, feedback and frameworks (read-only).",
)


def _token_key() -> str:
    """Rate limits count per token (the client's address when none is given)."""
    header = request.headers.get("Authorization", "")
    return "api:" + (
        tokens.digest(header.partition(" ")[2].strip()) if header else (request.remote_addr or "?")
    )


limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=_token_key)(bp)


@bp.errorhandler(HTTPException)
def json_error(error: HTTPException):
    return current_app.extensions["clerkship_api"].handle_http_exception(error)


def late_json_error(code: int, message: str) -> Response:
    """A failure found after the view (the audit row of the token's use not written): the
    same JSON as every other API error, not the pages' HTML."""
    error = default_exceptions[code]()
    error.data = {"message": message}  # type: ignore[attr-defined]
    response = make_response(json_error(error))
    if code == 503:
        response.headers["Retry-After"] = str(errors.RETRY_AFTER_SECONDS)
    return response


errors.own_format(bp.name, late_json_error)


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    payload = {"code": 422, "status": "Unprocessable Entity", "message": str(error.message)}
    if error.field:
        payload["errors"] = {"query": {error.field: [str(error.message)]}}
    return payload, 422


@bp.before_request
def authenticate() -> None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    token = tokens.authenticate(secret.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        abort(
            401,
            message="Send a valid API token: Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": 'Bearer realm="clerkship"'},
        )
    g.api_principal = tokens.TokenPrincipal(token)
    tokens.record_use(token, request.full_path)


def _who() -> tokens.TokenPrincipal:
    return g.api_principal


def _page(items, cursor) -> dict:
    return {"items": items, "next_cursor": cursor}


RESPONSES = {"401": "A missing, expired or revoked token.", "429": "Too many requests."}


def _documented(view):
    for code, text in RESPONSES.items():
        view = bp.alt_response(int(code), description=text, schema=None)(view)
    return bp.doc(security=[{"token": []}])(view)


@bp.route("/programs")
@bp.response(200, s.ProgramOut(many=True))
@_documented
def programs():
    """The token's program (a list of one, or empty if its maker no longer runs it)."""
    return queries.programs(_who())


@bp.route("/cohorts")
@bp.arguments(s.PageArgs, location="query")
@bp.response(200, s.page_of(s.CohortOut))
@_documented
def cohorts(args):
    """The program's cohorts (academic years), oldest first."""
    return _page(*queries.cohorts(_who(), args.get("cursor"), args["limit"]))


@bp.route("/people")
@bp.arguments(s.PeopleArgs, location="query")
@bp.response(200, s.page_of(s.PersonOut))
@_documented
def people(args):
    """The program's students, preceptors and patients, by role and cohort."""
    return _page(*queries.people(_who(), args))


@bp.route("/frameworks")
@bp.response(200, s.FrameworkOut(many=True))
@_documented
def frameworks():
    """The competency frameworks the program assesses against, with competency URIs."""
    return queries.frameworks(_who())


@bp.route("/goals")
@bp.arguments(s.GoalArgs, location="query")
@bp.response(200, s.page_of(s.GoalOut))
@_documented
def goals(args):
    """Learning goals with every version and the preceptors' agreements (directors' tokens)."""
    return _page(*queries.goals(_who(), args))


@bp.route("/goals/<int:goal_id>")
@bp.response(200, s.GoalOut)
@bp.alt_response(404, description="No such goal for this token.", schema=None)
@_documented
def goal(goal_id: int):
    """One learning goal."""
    found = queries.goal(_who(), goal_id)
    if found is None:
        abort(404)
    return found


@bp.route("/assessments")
@bp.arguments(s.AssessmentArgs, location="query")
@bp.response(200, s.page_of(s.AssessmentOut))
@_documented
def assessments(args):
    """Assessment cycles with both ratings (once revealed), the co-signature and whether it
    still verifies, and the competency's URI."""
    return _page(*queries.assessments(_who(), args))


@bp.route("/assessments/<int:cycle_id>")
@bp.response(200, s.AssessmentOut)
@bp.alt_response(404, description="No such assessment for this token.", schema=None)
@_documented
def assessment(cycle_id: int):
    """One assessment cycle."""
    found = queries.assessment(_who(), cycle_id)
    if found is None:
        abort(404)
    return found


def _portfolio_student(student_id: int) -> User:
    """A student of the token's program whose portfolio its maker may open; else 404."""
    student = db.session.get(User, student_id)
    principal = _who()
    if (
        student is None
        or not permissions.can_view_portfolio(principal, student)
        or principal.program_id not in permissions.student_program_ids(student.id)
    ):
        abort(404)
    return student


@bp.route("/students/<int:student_id>/portfolio")
@bp.response(200, s.PortfolioOut)
@bp.alt_response(404, description="No such student for this token.", schema=None)
@_documented
def portfolio(student_id: int):
    """The student's portfolio documents: the issued PDFs of the token's program (ids to
    /verify), and their entrustment-decision credentials with links to download them."""
    student = _portfolio_student(student_id)
    return queries.portfolio(_who(), student)


@bp.route("/students/<int:student_id>/feedback-summary")
@bp.response(200, s.FeedbackSummaryOut)
@bp.alt_response(404, description="No such student for this token.", schema=None)
@_documented
def feedback(student_id: int):
    """Patient feedback as the student's portfolio shows it: scores, and only the words the
    patient allowed to be quoted."""
    student = _portfolio_student(student_id)
    return {"student_id": student.id, **feedback_summary(student.id)}
