from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from clerkship import submissions
from clerkship.extensions import limiter
from clerkship.formerrors import put_error
from clerkship.jinja import name_of
from clerkship.models import DISCIPLINES, Assignment, Role, User
from clerkship.people import bp, service
from clerkship.people.forms import PairForm
from clerkship.permissions import (
    can_deactivate_person,
    can_edit_account,
    can_manage_accounts,
    can_manage_assignment,
    can_manage_person,
    can_pair_student,
    load_or_404,
)


def _user() -> User:
    return current_user._get_current_object()


def _page_of(person: User, otherwise: str | None = None) -> str:
    """The page a change to the account starts from and returns to: the admin's account
    pages, else the director's student page (``otherwise`` for anyone else: Home)."""
    if can_manage_accounts(current_user):
        if can_edit_account(current_user, person):
            return url_for("accounts.edit", user_id=person.id)
        return url_for("accounts.index")
    if person.role is Role.STUDENT:
        return url_for("directory.student", student_id=person.id)
    return otherwise or url_for("home.index")


@bp.route("/students/<int:student_id>/pairings", methods=["GET", "POST"])
@login_required
def pair(student_id: int):
    student = load_or_404(User, student_id, can_pair_student)
    choices = service.preceptors(_user())
    form = PairForm()
    # A choice from the list only: another program's preceptors are not offered.
    form.preceptor.choices = [("", "—")] + [(p.id, f"{p.name} ({p.email})") for p in choices]
    form.discipline.choices = [("", "—")] + [(d, d) for d in DISCIPLINES]
    if submissions.valid(form):
        if (again := submissions.repeated()) is not None:
            return again
        chosen = form.preceptor.data
        pairing = service.Pairing(
            preceptor_id=chosen if chosen in {p.id for p in choices} else None,
            discipline=form.discipline.data or "",
            start_date=form.start_date.data,
            end_date=form.end_date.data,
        )
        try:
            service.pair(_user(), student, pairing)
        except service.PeopleError as error:
            put_error(form, error)
        else:
            flash(
                _("Paired. The preceptor sees %(name)s from the start date.", name=student.name),
                "success",
            )
            return redirect(submissions.done(url_for("directory.student", student_id=student.id)))
    status = 400 if request.method == "POST" else 200
    return render_template("people/pair.html", student=student, form=form), status


@bp.route("/assignments/<int:assignment_id>/end", methods=["POST"])
@login_required
def end_pairing(assignment_id: int):
    assignment = load_or_404(Assignment, assignment_id, can_manage_assignment)
    try:
        service.end_pairing(_user(), assignment)
    except service.PeopleError as error:
        put_error(None, error)
    else:
        flash(
            _(
                "Ended. %(name)s keeps read-only access to what they wrote.",
                name=assignment.preceptor.name,
            ),
            "success",
        )
    return redirect(url_for("directory.student", student_id=assignment.student_id))


@bp.route("/people/<int:user_id>/deactivate", methods=["GET", "POST"])
@login_required
def deactivate(user_id: int):
    """Asks first (a page, no script): deactivating signs the person out everywhere."""
    person = load_or_404(User, user_id, can_deactivate_person)
    if request.method == "GET" or request.form.get("confirmed") != "yes":
        return render_template("people/deactivate.html", person=person, back=_page_of(person))
    try:
        service.set_active(_user(), person, False)
    except service.PeopleError as error:
        put_error(None, error)
    else:
        flash(
            _(
                "%(name)s is deactivated and signed out everywhere. Their records stay.",
                name=name_of(person),
            ),
            "success",
        )
    return redirect(_page_of(person))


@bp.route("/people/<int:user_id>/reactivate", methods=["POST"])
@login_required
def reactivate(user_id: int):
    person = load_or_404(User, user_id, can_deactivate_person)
    service.set_active(_user(), person, True)
    flash(_("%(name)s can sign in again.", name=name_of(person)), "success")
    return redirect(_page_of(person))


def _reset_target() -> str:
    return f"reset-link:{request.view_args.get('user_id')}"


@bp.route("/people/<int:user_id>/reset-password", methods=["POST"])
@login_required
@limiter.limit(
    lambda: current_app.config["PASSWORD_RESET_ACCOUNT_RATE_LIMIT"],
    key_func=_reset_target,
    deduct_when=lambda response: response.status_code == 302,  # a 404 sends nothing
)
def reset_password(user_id: int):
    person = load_or_404(User, user_id, can_manage_person)
    try:
        service.send_reset_link(_user(), person)
    except service.PeopleError as error:
        put_error(None, error)
    else:
        flash(
            _("A link to choose a new password was sent to %(email)s.", email=person.email),
            "success",
        )
    return redirect(_page_of(person, request.referrer))
