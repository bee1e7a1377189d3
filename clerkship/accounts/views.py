from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from clerkship import submissions
from clerkship.accounts import bp, queries
from clerkship.accounts.forms import AccountForm, NewAccountForm, SearchForm, role_choices
from clerkship.formerrors import put_error
from clerkship.models import Role, User
from clerkship.people import accounts, service
from clerkship.people.service import PersonDetails
from clerkship.permissions import (
    can_edit_account,
    can_manage_accounts,
    load_or_404,
)


def _user() -> User:
    return current_user._get_current_object()


def _require_admin() -> None:
    if not can_manage_accounts(current_user):
        abort(404)


def _role(value: str | None) -> Role | None:
    try:
        return Role(value) if value else None
    except ValueError:
        return None


def _details(form: AccountForm) -> PersonDetails:
    role = _role(form.role.data)
    if role is None:
        raise service.PeopleError(_("Choose a role."), "role")
    return PersonDetails(
        role=role,
        email=form.email.data or "",
        name=form.name.data or "",
        external_id=form.external_id.data or None,
    )


@bp.route("/")
@login_required
def index():
    _require_admin()
    form = SearchForm(request.args)
    form.role.choices = [SelectChoice("", _("Every role"))] + [
        SelectChoice(r.value, r.label) for r in Role
    ]
    valid = form.validate()
    text = (form.q.data or "") if valid else ""
    status = {"active": True, "inactive": False}.get(form.status.data or "")
    page = request.args.get("page", 1, type=int) or 1
    people = queries.search(_user(), text, _role(form.role.data), status, max(page, 1))
    filtered = bool(text or form.role.data or form.status.data)
    return render_template("accounts/index.html", form=form, people=people, filtered=filtered)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    _require_admin()
    form = NewAccountForm()
    form.role.choices = role_choices(_("Choose…"))
    if submissions.valid(form):
        if (again := submissions.repeated()) is not None:
            return again
        try:
            person = accounts.create_account(_user(), _details(form))
            if form.send_link.data:
                service.send_reset_link(_user(), person)
        except service.PeopleError as error:
            put_error(form, error)
        else:
            message = (
                _("%(name)s's account is made; a link to choose a password went to %(email)s.")
                if form.send_link.data
                else _("%(name)s's account is made. Send a set-password link when they need it.")
            )
            flash(message % {"name": person.name, "email": person.email}, "success")
            return redirect(submissions.done(url_for("accounts.edit", user_id=person.id)))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/new.html", form=form), status


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@login_required
def edit(user_id: int):
    person = load_or_404(User, user_id, can_edit_account)
    form = AccountForm(obj=None if request.method == "POST" else person)
    if request.method == "GET":
        form.role.data = person.role.value
    locked = accounts.has_program_records(person)
    form.role.choices = (
        [SelectChoice(person.role.value, person.role.label)]
        if locked
        else role_choices(_("Choose…"))
    )
    if locked:
        form.role.description = _(
            "The role stays: this account has records in a program. Create a second account "
            "for another role."
        )
    if form.validate_on_submit():
        try:
            changed = accounts.change_account(_user(), person, _details(form))
        except service.PeopleError as error:
            put_error(form, error)
        else:
            flash(_("Saved.") if changed else _("Nothing was changed."), "success")
            return redirect(url_for("accounts.edit", user_id=person.id))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/edit.html", form=form, person=person), status
