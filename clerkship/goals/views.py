from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm.exc import StaleDataError
from wtforms import SelectChoice

from clerkship import picker, submissions, transactions
from clerkship.extensions import db
from clerkship.flashes import flash_at
from clerkship.formerrors import put_error
from clerkship.goals import bp, queries, service
from clerkship.goals.forms import (
    ActionForm,
    AgreeForm,
    CloseForm,
    DeclineForm,
    EndorseForm,
    GoalForm,
    NoteForm,
    ShareForm,
    SuggestionForm,
)
from clerkship.models import (
    ContributionKind,
    GoalContribution,
    GoalStatus,
    LearningGoal,
    Role,
)
from clerkship.permissions import (
    can_agree_goal,
    can_contribute_to_goal,
    can_edit_goal,
    can_endorse_goal,
    can_view_goal,
    load_or_404,
    require_role,
)


def _load(goal_id: int, predicate=can_view_goal) -> LearningGoal:
    return load_or_404(
        LearningGoal,
        goal_id,
        predicate,
        owner=lambda goal: goal.student_id,
        options=queries.PAGE_OPTIONS,
    )


def _user():
    return current_user._get_current_object()


# --- lists -----------------------------------------------------------------------------------


@bp.route("/")
@login_required
def index():
    require_role(Role.STUDENT, Role.PRECEPTOR, Role.PATIENT)
    user = _user()
    if user.role is Role.STUDENT:
        goals = queries.goals_of_student(user.id)
        return render_template(
            "goals/index_student.html",
            groups=queries.by_status(goals),
            awaiting=queries.awaiting_student(goals),
        )
    goals = queries.goals_shared_with(user)
    return render_template(
        "goals/index_shared.html",
        goals=goals,
        awaiting=queries.awaiting_agreement(goals, user) if user.role is Role.PRECEPTOR else [],
    )


# --- the student's own goal ------------------------------------------------------------------


def _goal_form(student_id: int, keep: tuple[int, ...] = (), **kwargs) -> GoalForm:
    """``keep``: the goal's linked competencies, offered even if retired since, so saving
    another change does not drop them."""
    form = GoalForm(**kwargs)
    form.competencies.choices = queries.competency_choices(student_id, keep)
    return form


def _render_form(form: GoalForm, goal: LearningGoal | None, status: int = 200):
    from clerkship.frameworks.queries import picker_groups  # the package imports its views

    student_id = goal.student_id if goal else _user().id
    keep = tuple(c.id for c in goal.competencies) if goal else ()
    groups = picker.prepared(picker_groups(student_id, form.competencies, keep))
    return render_template(
        "goals/form.html", form=form, goal=goal, picker=groups, query=picker.query()
    ), status


def _text(form: GoalForm) -> service.GoalText:
    return service.GoalText(
        title=form.title.data or "",
        specific=form.specific.data or "",
        measure=form.measure.data or "",
        actions=form.actions.data or "",
        target_date=form.target_date.data,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    require_role(Role.STUDENT)
    user = _user()
    form = _goal_form(user.id)
    if picker.searching():
        return _render_form(form, None)
    if submissions.valid(form):
        if (again := submissions.repeated()) is not None:
            return again
        competencies = queries.competencies_by_id(form.competencies.data)
        try:
            goal = service.create_goal(user, _text(form), competencies)
        except service.GoalError as error:
            put_error(form, error)
            return _render_form(form, None, error.status)
        flash(_("Goal saved as a draft. Share it with a preceptor when you are ready."), "success")
        return redirect(submissions.done(url_for("goals.show", goal_id=goal.id)))
    return _render_form(form, None, 400 if request.method == "POST" else 200)


@bp.route("/<int:goal_id>/edit", methods=["GET", "POST"])
@login_required
def edit(goal_id: int):
    goal = _load(goal_id, can_edit_goal)
    keep = tuple(c.id for c in goal.competencies)
    if request.method == "GET":
        latest = goal.latest
        form = _goal_form(
            goal.student_id,
            keep,
            data={
                "title": latest.title,
                "specific": latest.specific,
                "measure": latest.measure,
                "actions": latest.actions,
                "target_date": latest.target_date,
                "competencies": [c.id for c in goal.competencies],
                "seen_version": goal.version_id,
            },
        )
        return _render_form(form, goal)

    form = _goal_form(goal.student_id, keep)
    if picker.searching():
        return _render_form(form, goal)
    if not form.validate_on_submit():
        return _render_form(form, goal, 400)
    competencies = queries.competencies_by_id(form.competencies.data)
    try:
        version = service.edit_goal(
            _user(),
            goal,
            _text(form),
            competencies,
            seen_version_id=form.seen_version.data or 0,
        )
        db.session.flush()
    except (service.EditConflict, StaleDataError):  # StaleDataError: at the flush
        transactions.fail()
        return _conflict(goal_id, form)
    except service.GoalError as error:
        put_error(form, error)
        return _render_form(form, goal, error.status)
    if version is None:
        flash(_("Nothing had changed, so no new version was made."), "info")
    elif goal.status is GoalStatus.SHARED and goal.shares:
        flash(_("Saved as version %(n)d. It needs agreeing again.", n=version.number), "success")
    else:
        flash(_("Saved as version %(n)d.", n=version.number), "success")
    return redirect(url_for("goals.show", goal_id=goal.id))


def _conflict(goal_id: int, form: GoalForm):
    """Show what was saved meanwhile beside what this person typed; nothing is lost."""
    db.session.expire_all()
    goal = _load(goal_id, can_edit_goal)
    # Saving again from the conflict page overwrites knowingly. (raw_data is what renders.)
    form.seen_version.data = goal.version_id
    form.seen_version.raw_data = [str(goal.version_id)]
    return render_template("goals/conflict.html", goal=goal, form=form), 409


@bp.route("/<int:goal_id>/share", methods=["GET", "POST"])
@login_required
def share(goal_id: int):
    goal = _load(goal_id, can_edit_goal)
    preceptors, patients = service.shareable_people(goal.student)
    form = ShareForm()
    form.people.choices = [
        SelectChoice(p.id, _("%(name)s (preceptor)", name=p.name)) for p in preceptors
    ] + [SelectChoice(p.id, _("%(name)s (continuity patient)", name=p.name)) for p in patients]
    if request.method == "GET":
        form.people.data = [share.user_id for share in goal.shares]
    elif form.validate_on_submit():
        chosen = [p for p in preceptors + patients if p.id in set(form.people.data or ())]
        try:
            added = service.share_goal(_user(), goal, chosen)
        except service.GoalError as error:
            put_error(form, error)
        else:
            if added:
                flash(
                    _("Shared. %(names)s will be told.", names=", ".join(p.name for p in added)),
                    "success",
                )
            else:
                flash(_("Sharing updated."), "success")
            return redirect(url_for("goals.show", goal_id=goal.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "goals/share.html", goal=goal, form=form, preceptors=preceptors, patients=patients
    ), status


@bp.route("/<int:goal_id>/close", methods=["GET", "POST"])
@login_required
def close(goal_id: int):
    goal = _load(goal_id, can_edit_goal)
    form = CloseForm()
    if form.validate_on_submit():
        try:
            service.close_goal(_user(), goal, GoalStatus(form.outcome.data), form.reflection.data)
        except service.GoalError as error:
            put_error(form, error)
            return render_template("goals/close.html", goal=goal, form=form), error.status
        flash(_("Goal closed. Your reflection is on the goal page."), "success")
        return redirect(url_for("goals.show", goal_id=goal.id))
    status = 400 if request.method == "POST" else 200
    return render_template("goals/close.html", goal=goal, form=form), status


# --- the goal page and its thread ------------------------------------------------------------


def _show(goal: LearningGoal, status: int = 200, **forms):
    forms.setdefault("note_form", NoteForm(formdata=None))
    forms.setdefault("suggestion_form", SuggestionForm(formdata=None))
    forms.setdefault("endorse_form", EndorseForm(formdata=None))
    forms.setdefault("agree_form", AgreeForm(formdata=None))
    user = _user()
    closed = goal.status in service.CLOSED
    # Each predicate costs a query or two: ask once here, not in every template branch.
    may = {
        "contribute": not closed and can_contribute_to_goal(user, goal),
        "agree": not closed and can_agree_goal(user, goal),
        "endorse": not closed and can_endorse_goal(user, goal),
    }
    pending = queries.pending_suggestions(goal)
    # One decline form per open suggestion, all on this page: the prefix keeps them apart.
    decline_forms = {s.id: _decline_form(s.id, formdata=None) for s in pending}
    if (declining := forms.pop("declining", None)) is not None:
        decline_forms[declining.suggestion_id] = declining
    return render_template(
        "goals/show.html",
        goal=goal,
        may=may,
        pending=pending,
        agreed_by_me=queries.agreed_by(goal, user),
        closed=closed,
        decline_forms=decline_forms,
        **forms,
    ), status


def _decline_form(suggestion_id: int, **kwargs) -> DeclineForm:
    form = DeclineForm(prefix=f"suggestion-{suggestion_id}", **kwargs)
    form.suggestion_id = suggestion_id
    return form


@bp.route("/<int:goal_id>")
@login_required
def show(goal_id: int):
    return _show(_load(goal_id))


@bp.route("/<int:goal_id>/history")
@login_required
def history(goal_id: int):
    goal = _load(goal_id)
    return render_template("goals/history.html", goal=goal, rows=queries.history(goal))


def _after_write(goal: LearningGoal, message: str):
    flash_at("thread", message)  # shown in the thread, where the page opens
    return redirect(submissions.done(url_for("goals.show", goal_id=goal.id) + "#thread"))


@bp.route("/<int:goal_id>/notes", methods=["POST"])
@login_required
def add_note(goal_id: int):
    goal = _load(goal_id, can_contribute_to_goal)
    form = NoteForm()
    if not submissions.valid(form):
        return _show(goal, 400, note_form=form)
    if (again := submissions.repeated()) is not None:
        return again
    try:
        service.add_note(_user(), goal, ContributionKind(form.kind.data), form.body.data)
    except service.GoalError as error:
        put_error(form, error)
        return _show(_load(goal_id), error.status, note_form=form)
    return _after_write(goal, _("Added to the goal."))


@bp.route("/<int:goal_id>/suggestions", methods=["POST"])
@login_required
def suggest(goal_id: int):
    goal = _load(goal_id, can_contribute_to_goal)
    form = SuggestionForm()
    if not submissions.valid(form):
        return _show(goal, 400, suggestion_form=form)
    if (again := submissions.repeated()) is not None:
        return again
    try:
        service.suggest(
            _user(), goal, form.field.data, form.proposed_text.data, form.note.data or ""
        )
    except service.GoalError as error:
        put_error(form, error)
        return _show(_load(goal_id), error.status, suggestion_form=form)
    return _after_write(goal, _("Suggestion sent. The student will accept or decline it."))


def _suggestion(goal: LearningGoal, contribution_id: int) -> GoalContribution:
    contribution = next((c for c in goal.contributions if c.id == contribution_id), None)
    if contribution is None or contribution.kind is not ContributionKind.SUGGESTION:
        abort(404)
    return contribution


@bp.route("/<int:goal_id>/suggestions/<int:contribution_id>/accept", methods=["POST"])
@login_required
def accept_suggestion(goal_id: int, contribution_id: int):
    goal = _load(goal_id, can_edit_goal)
    contribution = _suggestion(goal, contribution_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        version = service.accept_suggestion(_user(), goal, contribution)
    except service.GoalError as error:
        put_error(None, error)
        return _show(_load(goal_id), error.status)
    return _after_write(
        goal,
        _(
            "Accepted: version %(n)d credits %(name)s.",
            n=version.number,
            name=contribution.shown_name or _("a patient"),
        ),
    )


@bp.route("/<int:goal_id>/suggestions/<int:contribution_id>/decline", methods=["POST"])
@login_required
def decline_suggestion(goal_id: int, contribution_id: int):
    goal = _load(goal_id, can_edit_goal)
    contribution = _suggestion(goal, contribution_id)
    form = _decline_form(contribution.id)
    if not form.validate_on_submit():
        return _show(goal, 400, declining=form)
    try:
        service.decline_suggestion(_user(), goal, contribution, form.reason.data)
    except service.GoalError as error:
        put_error(form, error)
        return _show(_load(goal_id), error.status, declining=form)
    return _after_write(goal, _("Suggestion declined; they will see your reason."))


@bp.route("/<int:goal_id>/agree", methods=["POST"])
@login_required
def agree(goal_id: int):
    goal = _load(goal_id, can_agree_goal)
    form = AgreeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.agree(_user(), goal, seen_version=form.version.data)
    except service.GoalError as error:
        put_error(None, error)
        return _show(_load(goal_id), error.status)
    return _after_write(goal, _("You agreed to version %(n)d.", n=goal.current_version))


@bp.route("/<int:goal_id>/endorse", methods=["POST"])
@login_required
def endorse(goal_id: int):
    goal = _load(goal_id, can_endorse_goal)
    form = EndorseForm()
    if not form.validate_on_submit():
        return _show(goal, 400, endorse_form=form)
    try:
        service.endorse(_user(), goal, form.endorse_note.data or "")
    except service.GoalError as error:
        put_error(None, error)
        return _show(_load(goal_id), error.status, endorse_form=form)
    return _after_write(goal, _("Thank you. The student can see that this goal matters to you."))
