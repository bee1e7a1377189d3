"""The patient's pages. Only what the invitation allows; everything else is 404."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import (
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale, get_locale
from flask_login import logout_user

from clerkship import transactions
from clerkship.auth import sessions as auth_sessions
from clerkship.auth.login import SESSION_KEY
from clerkship.clock import utcnow
from clerkship.extensions import limiter
from clerkship.models import InvitationPurpose, PatientInvitation
from clerkship.panels.service import LANGUAGE_NAMES
from clerkship.visit import bp, service
from clerkship.visit.forms import feedback_form, goal_input_form, item_field

# Pages a patient session may reach; any other page answers 404 while it lasts.
ALLOWED_ENDPOINTS = {"static", "auth.sign_in"}


@bp.before_app_request
def _confine_patient_sessions():
    endpoint = request.endpoint or ""
    confined = "visit" in session and endpoint not in ALLOWED_ENDPOINTS
    if confined and not endpoint.startswith("visit."):
        abort(404)


def _problem(problem: service.LinkProblem):
    language = problem.language or _language_from_browser()
    with force_locale(language):
        html = render_template("visit/problem.html", message=problem.message, language=language)
    return html, 404


def _language_from_browser() -> str:
    visit = session.get("visit") or {}
    if visit.get("lang") in LANGUAGE_NAMES:
        return visit["lang"]
    return request.accept_languages.best_match(list(LANGUAGE_NAMES)) or "en"


def _failed_link(response) -> bool:
    return bool(g.get("bad_link"))


@bp.route("/<token>")
@limiter.limit(lambda: current_app.config["PATIENT_LINK_RATE_LIMIT"], deduct_when=_failed_link)
def open_link(token: str):
    """The address in the e-mail or QR code: starts a patient session, then forgets the token."""
    try:
        invitation = service.find(token)
    except service.LinkProblem as problem:
        g.bad_link = True
        return _problem(problem)
    # Whoever used this browser before, this is now only the patient's page: their session
    # ends on the server too, so the old cookie cannot be replayed.
    auth_sessions.end(session.get(SESSION_KEY), "patient_link")
    logout_user()
    session.clear()
    session["visit"] = {
        "invitation": invitation.id,
        "opened": utcnow().isoformat(),
        "lang": language
        if (language := service.language_of(invitation)) in LANGUAGE_NAMES
        else "en",
    }
    # Redirect so the token leaves the address bar (and never reaches a Referer header).
    return redirect(url_for("visit.start"))


def _current(*, answering: bool = False) -> PatientInvitation:
    """The session's invitation; ``answering`` (sending answers, then the thank-you page)
    is allowed in the grace period after the link expires if it was opened before."""
    visit = session.get("visit")
    if not visit:
        raise service.LinkProblem("unknown")
    opened = datetime.fromisoformat(visit["opened"])
    limit = timedelta(minutes=current_app.config["PATIENT_SESSION_MINUTES"])
    if utcnow() - opened > limit:
        raise service.LinkProblem("timeout", visit.get("lang"))
    return service.load(visit.get("invitation"), opened, answering=answering)


def _render(template: str, invitation: PatientInvitation, status: int = 200, **context):
    return render_template(
        template,
        invitation=invitation,
        student=invitation.student,
        school=service.school_name(invitation),
        languages=LANGUAGE_NAMES,
        **context,
    ), status


@bp.route("/")
def start():
    try:
        invitation = _current()
    except service.LinkProblem as problem:
        return _problem(problem)
    if invitation.purpose is InvitationPurpose.GOAL_INPUT:
        if invitation.used_at:
            return _render("visit/thanks.html", invitation)
        return _render("visit/goal.html", invitation, errors={}, form=goal_input_form(invitation))
    if invitation.withdrawn_at:
        return _render("visit/withdrawn.html", invitation)
    if invitation.used_at:
        return _render("visit/thanks.html", invitation)
    return _feedback_page(invitation, _feedback_form(invitation), {})


def _feedback_form(invitation: PatientInvitation):
    return feedback_form(
        invitation,
        service.instrument_for(invitation),
        str(get_locale()),
        current_app.config["PATIENT_TEXT_MAX"],
    )


def _feedback_page(invitation, form, errors, status=200, few=""):
    form.show_errors(errors)
    return _render("visit/feedback.html", invitation, status, form=form, errors=errors, few=few)


@bp.route("/feedback", methods=["POST"])
def submit_feedback():
    try:
        invitation = _current(answering=True)
    except service.LinkProblem as problem:
        return _problem(problem)
    instrument = service.instrument_for(invitation)
    form = _feedback_form(invitation)
    answers = service.FeedbackAnswers(
        values={item.key: form[item_field(item.key)].data or "" for item in instrument.items},
        anything_else=form.anything_else.data or "",
        hope_next=form.hope_next.data or "",
        show_name=form.show_name_choice,
        allow_quotes=form.allow_quotes.data,
        few_ok=request.form.get("few_ok") == "yes",
    )
    try:
        service.submit_feedback(
            invitation,
            instrument,
            answers,
            language=session["visit"].get("lang", "en"),
            max_text=current_app.config["PATIENT_TEXT_MAX"],
        )
    except service.LinkProblem as problem:
        transactions.fail()
        return _problem(problem)
    except service.FewAnswers as notice:
        transactions.fail()
        return _feedback_page(invitation, form, {}, few=notice.errors["few"])
    except service.AnswerError as error:
        transactions.fail()
        return _feedback_page(invitation, form, error.errors, status=400)
    return redirect(url_for("visit.thanks"))


@bp.route("/thanks")
def thanks():
    try:
        invitation = _current(answering=True)
    except service.LinkProblem as problem:
        return _problem(problem)
    if not invitation.used_at:
        return redirect(url_for("visit.start"))
    return _render("visit/thanks.html", invitation)


@bp.route("/withdraw")
def confirm_withdraw():
    """Asks first: taking the answers back cannot be undone (works without JavaScript)."""
    try:
        invitation = _current()
    except service.LinkProblem as problem:
        return _problem(problem)
    if invitation.feedback is None:
        return redirect(url_for("visit.start"))
    return _render("visit/withdraw.html", invitation)


@bp.route("/withdraw", methods=["POST"])
def withdraw():
    try:
        invitation = _current()
        if request.form.get("confirm") != "yes":
            return redirect(url_for("visit.confirm_withdraw"))
        service.withdraw(invitation)
    except service.LinkProblem as problem:
        transactions.fail()
        return _problem(problem)
    except service.AnswerError:
        transactions.fail()
        return redirect(url_for("visit.start"))
    return _render("visit/withdrawn.html", invitation)


@bp.route("/goal", methods=["POST"])
def submit_goal_input():
    try:
        invitation = _current(answering=True)
    except service.LinkProblem as problem:
        return _problem(problem)
    form = goal_input_form(invitation)
    try:
        service.submit_goal_input(
            invitation,
            view=form.view.data or "",
            matters=form.matters.data,
            show_name=form.show_name_choice,
            max_text=current_app.config["PATIENT_TEXT_MAX"],
        )
    except service.LinkProblem as problem:
        transactions.fail()
        return _problem(problem)
    except service.AnswerError as error:
        transactions.fail()
        form.show_errors(error.errors)
        return _render("visit/goal.html", invitation, 400, errors=error.errors, form=form)
    return redirect(url_for("visit.thanks"))


@bp.route("/language", methods=["POST"])
def language():
    visit = session.get("visit")
    if not visit:
        return _problem(service.LinkProblem("unknown"))
    chosen = request.form.get("lang", "")
    if chosen in LANGUAGE_NAMES:
        visit["lang"] = chosen
        session["visit"] = visit
        try:
            service.remember_language(_current(), chosen)
        except service.LinkProblem as problem:
            return _problem(problem)
    return redirect(url_for("visit.start"))


@bp.route("/finish", methods=["POST"])
def finish():
    visit = session.get("visit") or {}
    language = visit.get("lang", "en")
    if visit:
        service.end_sessions(visit.get("invitation"))
    session.clear()
    with force_locale(language):
        return render_template("visit/finished.html", language=language)
