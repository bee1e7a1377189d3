from __future__ import annotations

from collections.abc import Callable

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import SelectChoice

from clerkship import picker, submissions, transactions
from clerkship.assessments import bp, queries, service
from clerkship.assessments.forms import (
    AddendumForm,
    GoalFromPlanForm,
    PreceptorAssessmentForm,
    ReactionForm,
    ReturnForm,
    SchoolSignForm,
    SelfAssessmentForm,
    SignForm,
    StartForm,
)
from clerkship.charts import level_chart
from clerkship.extensions import db, limiter
from clerkship.formerrors import put_error
from clerkship.models import AssessmentCycle, CycleStatus, Role, User
from clerkship.permissions import (
    can_add_addendum,
    can_rate_assessment,
    can_see_preceptor_rating,
    can_see_self_rating,
    can_sign_assessment,
    can_view_assessment,
    can_view_calibration,
    can_withdraw_decision,
    is_assessed_student,
    load_or_404,
    require_role,
)
from clerkship.sso import views as school


def _user() -> User:
    return current_user._get_current_object()


def _load(cycle_id: int, predicate=can_view_assessment) -> AssessmentCycle:
    return load_or_404(
        AssessmentCycle,
        cycle_id,
        predicate,
        owner=lambda cycle: cycle.student_id,
        options=queries.PAGE_OPTIONS,
    )


def _act(form, render: Callable[[int], object], action: Callable[[], object], done: str):
    """Run one service action; on any refusal the form comes back as typed (and nothing is
    written: clerkship.transactions). The flush meets a concurrent change here, not at the
    commit, so the page can keep what the user typed."""
    try:
        action()
        db.session.flush()
    except service.WrongPassword as error:
        g.wrong_password = True
        put_error(form, error)
        return render(error.status)
    except service.AssessmentError as error:
        put_error(form, error)
        return render(error.status)
    except (StaleDataError, IntegrityError):
        # Someone else acted on this assessment at the same moment; theirs was saved first.
        transactions.fail()
        flash(
            _(
                "Someone else changed this assessment while you were working on it. Nothing "
                "of yours was saved; your text is below. Check the assessment and try again."
            ),
            "error",
        )
        return render(409)
    flash(done, "success")
    return None


# --- lists -----------------------------------------------------------------------------------


@bp.route("/")
@login_required
def index():
    require_role(Role.STUDENT, Role.PRECEPTOR)
    user = _user()
    if user.role is Role.STUDENT:
        cycles = queries.cycles_of_student(user.id)
        waiting = queries.student_queue(user.id)
    else:
        cycles = queries.cycles_of_preceptor(user.id)
        waiting = queries.preceptor_queue(user.id)
    waiting_ids = {row.cycle.id for row in waiting}
    return render_template(
        "assessments/index.html",
        waiting=waiting,
        others=[c for c in cycles if c.id not in waiting_ids],
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    require_role(Role.STUDENT, Role.PRECEPTOR)
    user = _user()
    people = queries.people_to_assess_with(user)
    form = StartForm()
    form.person.label.text = _("Preceptor") if user.role is Role.STUDENT else _("Student")
    form.person.choices = [SelectChoice(p.id, p.name) for p in people]
    if request.method == "GET" and request.args.get("student", type=int):
        form.person.data = request.args.get("student", type=int)
    chosen_student = user if user.role is Role.STUDENT else None
    if chosen_student is None and people:
        wanted = form.person.data if form.person.data else people[0].id
        chosen_student = next((p for p in people if p.id == wanted), people[0])
    competencies = service.competencies_for(chosen_student.id) if chosen_student else []
    form.competency.choices = queries.competency_choices(competencies)

    def render(status=200):
        from clerkship.frameworks.queries import picker_groups  # the package imports views

        groups = picker_groups(chosen_student.id, form.competency) if chosen_student else []
        return render_template(
            "assessments/new.html",
            form=form,
            people=people,
            picker=picker.prepared(groups),
            query=picker.query(),
        ), status

    if picker.searching():
        return render()
    if not submissions.valid(form):
        return render(400 if request.method == "POST" else 200)
    if (again := submissions.repeated()) is not None:
        return again
    person = next(p for p in people if p.id == form.person.data)
    student, preceptor = (user, person) if user.role is Role.STUDENT else (person, user)
    created = []
    failed = _act(
        form,
        render,
        lambda: created.append(
            service.start_cycle(
                user,
                student=student,
                preceptor=preceptor,
                competency_id=form.competency.data,
                period_start=form.period_start.data,
                period_end=form.period_end.data,
                encounter=form.encounter.data or "",
            )
        ),
        _("Assessment started. %(name)s has been told.", name=person.name),
    )
    return failed or redirect(
        submissions.done(url_for("assessments.show", cycle_id=created[0].id))
    )


# --- one cycle -------------------------------------------------------------------------------


def _visibility(user: User, cycle: AssessmentCycle) -> dict:
    """Blind until both are in: each side sees only their own rating before the reveal."""
    return {
        "self": can_see_self_rating(user, cycle),
        "preceptor": can_see_preceptor_rating(user, cycle),
    }


@bp.route("/<int:cycle_id>")
@login_required
def show(cycle_id: int):
    return _show(_load(cycle_id))


def _show(cycle: AssessmentCycle, goal_form: GoalFromPlanForm | None = None, status: int = 200):
    user = _user()
    may_supervise = can_sign_assessment(user, cycle)
    own_self = cycle.self_assessment
    own_rating = cycle.preceptor_assessment
    may = {
        "self_assess": is_assessed_student(user, cycle)
        and cycle.status is CycleStatus.OPEN
        and not (own_self and own_self.submitted_at),
        "rate": may_supervise
        and cycle.status is CycleStatus.OPEN
        and not (own_rating and own_rating.submitted_at),
        "react": is_assessed_student(user, cycle)
        and cycle.status in (CycleStatus.REVEALED, CycleStatus.RETURNED),
        "make_goal": is_assessed_student(user, cycle)
        and cycle.both_submitted
        and bool(own_self and own_self.plan),
        "sign": may_supervise and cycle.status is CycleStatus.AWAITING_SIGNATURE,
        "addendum": can_add_addendum(user, cycle),
    }
    return render_template(
        "assessments/show.html",
        cycle=cycle,
        may=may,
        see=_visibility(user, cycle),
        gap_sentence=service.gap_sentence(cycle, user),
        signature_valid=service.signature_valid(cycle),
        addenda=[(a, service.addendum_valid(a, cycle)) for a in cycle.addenda],
        goal_form=goal_form or GoalFromPlanForm(formdata=None),
        status_label=service.STATUS_LABELS[cycle.status],
        meanings=service.COSIGN_MEANINGS,
    ), status


def _not_now(cycle: AssessmentCycle, message: str):
    """A step opened at the wrong moment (an old link, a second tab): back to the record."""
    flash(message, "info")
    return redirect(url_for("assessments.show", cycle_id=cycle.id))


def _levels(cycle: AssessmentCycle):
    scale = service.scale_for(cycle.student_id)
    return scale.levels if scale else []


@bp.route("/<int:cycle_id>/self", methods=["GET", "POST"])
@login_required
def self_assess(cycle_id: int):
    cycle = _load(cycle_id, is_assessed_student)
    if cycle.status is not CycleStatus.OPEN or (
        cycle.self_assessment and cycle.self_assessment.submitted_at
    ):
        return _not_now(cycle, _("Your self-assessment for this cycle is already submitted."))
    levels = _levels(cycle)
    form = SelfAssessmentForm()
    form.level.choices = queries.level_choices(levels)
    choices = queries.evidence_choices(cycle.student_id)
    form.goals.choices = choices["goals"]
    form.feedback.choices = choices["feedback"]
    form.reflections.choices = choices["reflections"]

    def render(status=200):
        return render_template(
            "assessments/self.html",
            cycle=cycle,
            form=form,
            levels=levels,
            picker=picker.prepared(_evidence_groups(form)),
            query=picker.query(),
        ), status

    if picker.searching():
        return render()
    if not form.validate_on_submit():
        return render(400 if request.method == "POST" else 200)
    rating = service.SelfRating(
        level_id=form.level.data,
        evidence=form.evidence.data or "",
        interpretation=form.interpretation.data or "",
        goal_ids=tuple(form.goals.data or ()),
        feedback_ids=tuple(form.feedback.data or ()),
        reflection_ids=tuple(form.reflections.data or ()),
    )
    failed = _act(
        form,
        render,
        lambda: service.submit_self_assessment(_user(), cycle, rating),
        _("Self-assessment submitted."),
    )
    return failed or redirect(url_for("assessments.show", cycle_id=cycle.id))


def _evidence_groups(form: SelfAssessmentForm) -> list[picker.Group]:
    """The evidence picker: one group for each kind of record the student may link."""
    return [
        picker.flat(sub, str(sub.label.text), [(c.value, c.label, "") for c in sub.choices])
        for sub in (form.goals, form.feedback, form.reflections)
        if sub.choices
    ]


@bp.route("/<int:cycle_id>/rate", methods=["GET", "POST"])
@login_required
def rate(cycle_id: int):
    cycle = _load(cycle_id, can_rate_assessment)
    if cycle.status is not CycleStatus.OPEN or (
        cycle.preceptor_assessment and cycle.preceptor_assessment.submitted_at
    ):
        return _not_now(cycle, _("Your rating for this cycle is already submitted."))
    levels = _levels(cycle)
    form = PreceptorAssessmentForm()
    form.level.choices = queries.level_choices(levels)

    def render(status=200):
        return render_template(
            "assessments/rate.html", cycle=cycle, form=form, levels=levels
        ), status

    if not form.validate_on_submit():
        return render(400 if request.method == "POST" else 200)
    failed = _act(
        form,
        render,
        lambda: service.submit_preceptor_assessment(
            _user(),
            cycle,
            level_id=form.level.data,
            went_well=form.went_well.data or "",
            work_on=form.work_on.data or "",
        ),
        _("Rating submitted."),
    )
    return failed or redirect(url_for("assessments.show", cycle_id=cycle.id))


def _late_reason(cycle: AssessmentCycle) -> str:
    if cycle.status is CycleStatus.SIGNED:
        return _(
            "%(name)s signed this assessment before your text arrived, so it was not saved: "
            "a signed record does not change. Your text is below; copy it to keep it (for "
            "example into a reflection).",
            name=cycle.preceptor.name,
        )
    return _(
        "A reaction and plan were already sent to %(name)s for signature (perhaps from another "
        "window), so this text was not saved. It is below; copy it to keep it.",
        name=cycle.preceptor.name,
    )


@bp.route("/<int:cycle_id>/reaction", methods=["GET", "POST"])
@login_required
def react(cycle_id: int):
    cycle = _load(cycle_id, is_assessed_student)
    # Sent after the preceptor signed (or after a reaction went from another tab): the typed
    # text comes back on the page with why it was not saved, never dropped.
    late = request.method == "POST" and cycle.status in (
        CycleStatus.AWAITING_SIGNATURE,
        CycleStatus.SIGNED,
    )
    if cycle.status not in (CycleStatus.REVEALED, CycleStatus.RETURNED) and not late:
        return _not_now(
            cycle, _("The reaction and plan come after both ratings are in and before signing.")
        )
    if request.method == "GET":
        form = ReactionForm(
            data={"reaction": cycle.self_assessment.reaction, "plan": cycle.self_assessment.plan}
        )
    else:
        form = ReactionForm()
    user = _user()

    def render(status=200):
        return render_template(
            "assessments/reaction.html",
            cycle=cycle,
            form=form,
            gap_sentence=service.gap_sentence(cycle, user),
            late=_late_reason(cycle) if late else None,
        ), status

    if late:
        return render(409)
    if not form.validate_on_submit():
        return render(400 if request.method == "POST" else 200)
    if form.make_goal.data and not form.goal_title.data:
        form.goal_title.errors = [_("Give the goal a short title.")]
        return render(400)

    def react_and_maybe_plan():
        service.record_reaction(user, cycle, reaction=form.reaction.data, plan=form.plan.data)
        if form.make_goal.data:
            service.goal_from_plan(user, cycle, form.goal_title.data)

    failed = _act(
        form,
        render,
        react_and_maybe_plan,
        _("Sent to %(name)s for signature.", name=cycle.preceptor.name)
        + (" " + _("Your plan is now a draft learning goal.") if form.make_goal.data else ""),
    )
    return failed or redirect(url_for("assessments.show", cycle_id=cycle.id))


@bp.route("/<int:cycle_id>/goal", methods=["POST"])
@login_required
def goal_from_plan(cycle_id: int):
    cycle = _load(cycle_id, is_assessed_student)
    form = GoalFromPlanForm()
    made = []

    def render(status=200):
        return _show(cycle, goal_form=form, status=status)

    if not submissions.valid(form):
        return render(400)
    if (again := submissions.repeated()) is not None:
        return again
    failed = _act(
        form,
        render,
        lambda: made.append(service.goal_from_plan(_user(), cycle, form.goal_title.data)),
        _("Your plan is now a draft learning goal. Share it when you are ready."),
    )
    return failed or redirect(submissions.done(url_for("goals.show", goal_id=made[0].id)))


def _wrong_password(response) -> bool:
    # Only failed re-authentications count towards the limit; signing is never throttled.
    return bool(g.get("wrong_password"))


def _signer_key() -> str:
    return f"signature:{current_user.get_id() or request.remote_addr}"


signature_limit = limiter.limit(
    lambda: current_app.config["SIGNATURE_RATE_LIMIT"],
    methods=["POST"],
    key_func=_signer_key,
    deduct_when=_wrong_password,
)


def _sign_page(cycle: AssessmentCycle, form, return_form, status: int, proof=None):
    """The review page holds both forms: co-sign, or return with a comment.

    After a conflict (409) the page shows the record as it is now, and both forms carry its
    current version: signing from here signs what is on the screen."""
    if status == 409:
        for each in (form, return_form):
            each.version.data = cycle.version_id
            each.version.raw_data = [str(cycle.version_id)]
    return render_template(
        "assessments/sign.html",
        cycle=cycle,
        form=form,
        return_form=return_form,
        gap_sentence=service.gap_sentence(cycle, _user()),
        school=isinstance(form, SchoolSignForm),
        proof=proof,
    ), status


@bp.route("/<int:cycle_id>/sign", methods=["GET", "POST"])
@login_required
@signature_limit
def sign(cycle_id: int):
    cycle = _load(cycle_id, can_sign_assessment)
    if cycle.status is CycleStatus.SIGNED and request.method == "GET":
        return _not_now(cycle, _("This assessment is already signed."))
    if cycle.status not in (CycleStatus.AWAITING_SIGNATURE, CycleStatus.SIGNED):
        return _not_now(cycle, _("This assessment is not ready to sign yet."))
    user = _user()
    # Signed in through the school: a fresh school sign-in replaces the password re-entry.
    with_school = school.signed_in_with_school()
    form = (SchoolSignForm if with_school else SignForm)(version=cycle.version_id)
    proof = school.take_proof(user) if with_school else None

    def render(status=200):
        return _sign_page(
            cycle, form, ReturnForm(formdata=None, version=cycle.version_id), status, proof
        )

    if not form.validate_on_submit():
        return render(400 if request.method == "POST" else 200)
    if with_school and proof is None:
        put_error(form, school.service.FreshSignInNeeded())
        return render(400)
    failed = _act(
        form,
        render,
        lambda: service.sign(
            user,
            cycle,
            password=form.password.data if not with_school else None,
            meaning=form.meaning.data,
            seen_version=form.version.data,
            authentication=proof,
        ),
        _("Signed. The assessment is now part of %(name)s’s portfolio.", name=cycle.student.name),
    )
    if failed:
        return failed
    school.spend_proof()  # one fresh sign-in, one signature
    return redirect(url_for("assessments.show", cycle_id=cycle.id))


@bp.route("/<int:cycle_id>/return", methods=["POST"])
@login_required
def return_to_student(cycle_id: int):
    cycle = _load(cycle_id, can_sign_assessment)
    if cycle.status is not CycleStatus.AWAITING_SIGNATURE:
        return _not_now(cycle, _("Only an assessment waiting for your signature can be returned."))
    return_form = ReturnForm()
    user = _user()

    def render(status=200):
        return _sign_page(cycle, SignForm(formdata=None), return_form, status)

    if not return_form.validate_on_submit():
        return render(400)
    failed = _act(
        return_form,
        render,
        lambda: service.return_to_student(
            user, cycle, return_form.comment.data, seen_version=return_form.version.data
        ),
        _("Returned to %(name)s with your comment.", name=cycle.student.name),
    )
    return failed or redirect(url_for("assessments.show", cycle_id=cycle.id))


@bp.route("/<int:cycle_id>/addenda", methods=["GET", "POST"])
@login_required
@signature_limit
def addendum(cycle_id: int):
    cycle = _load(cycle_id, can_add_addendum)
    form = AddendumForm()

    def render(status=200):
        from clerkship.credentials.decisions import is_entrustment_decision  # builds on this

        return render_template(
            "assessments/addendum.html",
            cycle=cycle,
            form=form,
            may_withdraw=can_withdraw_decision(_user(), cycle) and is_entrustment_decision(cycle),
        ), status

    if not form.validate_on_submit():
        return render(400 if request.method == "POST" else 200)
    failed = _act(
        form,
        render,
        lambda: service.add_addendum(
            _user(),
            cycle,
            body=form.body.data,
            password=form.password.data,
            withdraws=bool(form.withdraws_decision.data),
        ),
        _("Addendum signed and added beneath the record."),
    )
    return failed or redirect(url_for("assessments.show", cycle_id=cycle.id))


# --- calibration -----------------------------------------------------------------------------


@bp.route("/calibration/<int:student_id>")
@login_required
def calibration(student_id: int):
    student = load_or_404(User, student_id, can_view_calibration, owner=lambda s: s.id)
    scale = service.scale_for(student.id)
    levels = [(level.value, level.label) for level in scale.levels] if scale else []
    rows = []
    for competency, points, above in queries.calibration(student.id):
        chart = level_chart(
            competency.label,
            levels,
            [p.on for p in points],
            [
                (_("Self"), "self", "circle", [p.self_level.value for p in points]),
                (_("Preceptor"), "preceptor", "square", [p.preceptor_level.value for p in points]),
            ],
        )
        group = above[0] if above else competency
        rows.append((competency, points, chart, group, above[1:]))
    return render_template("assessments/calibration.html", student=student, rows=rows)
