from __future__ import annotations

import segno
from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from wtforms import SelectChoice

from clerkship import submissions
from clerkship.extensions import db
from clerkship.formerrors import put_error
from clerkship.models import (
    InvitationPurpose,
    LearningGoal,
    PanelEntry,
    PatientFeedback,
    PatientInvitation,
    Role,
    User,
)
from clerkship.panels import bp, queries, service
from clerkship.panels.forms import InvitationForm, PatientForm
from clerkship.permissions import (
    can_edit_panel_entry,
    can_invite_patient,
    can_manage_invitation,
    can_manage_panel,
    can_remove_feedback,
    can_view_patient_feedback,
    load_or_404,
    require_role,
)
from clerkship.visit import service as visit

NEW_TOKENS = "new_invitation_tokens"  # shown once, right after creation, then forgotten


def _user() -> User:
    return current_user._get_current_object()


def _details(form: PatientForm) -> service.PatientDetails:
    return service.PatientDetails(
        name=form.name.data or "",
        language=form.language.data or "en",
        email=form.email.data or "",
        consent_date=form.consent_date.data,
        end_date=form.end_date.data,
    )


# --- the panel -------------------------------------------------------------------------------


@bp.route("/")
@login_required
def mine():
    require_role(Role.STUDENT)
    return redirect(url_for("panels.panel", student_id=current_user.id))


def _invitation_form(entry: PanelEntry, goals: list, *, sent: bool = False) -> InvitationForm:
    """One per panel entry, all on one page: the prefix keeps their fields and ids apart."""
    form = InvitationForm(prefix=f"entry-{entry.id}", **({} if sent else {"formdata": None}))
    form.purpose.label.text = _("New link for %(name)s", name=entry.patient.name)
    form.goal.choices = [SelectChoice(g.id, g.latest.title) for g in goals]
    if not goals:  # a goal's link needs a goal shared with this patient
        form.purpose.choices = form.purpose.choices[:1]
    if entry.patient.email:
        form.send_email.label.text = _("Also e-mail it to %(email)s", email=entry.patient.email)
    else:
        del form.send_email
    return form


def _panel_page(
    student: User,
    form: PatientForm,
    status: int = 200,
    invite: tuple[int, InvitationForm] | None = None,
):
    shared = queries.goals_shared_with_patients(student.id)
    entries = queries.panel_of(student.id)
    invite_forms = {
        entry.id: _invitation_form(entry, shared.get(entry.patient_id, [])) for entry in entries
    }
    if invite is not None:  # the one sent, with what was chosen and why it was refused
        invite_forms[invite[0]] = invite[1]
    return render_template(
        "panels/panel.html",
        student=student,
        entries=entries,
        invitations=queries.invitations_of(student.id),
        shared=shared,
        form=form,
        invite_forms=invite_forms,
        state_of=service.invitation_state,
        languages=service.LANGUAGE_NAMES,
        is_student=current_user.id == student.id,
    ), status


@bp.route("/<int:student_id>")
@login_required
def panel(student_id: int):
    student = load_or_404(User, student_id, can_manage_panel, owner=lambda s: s.id)
    return _panel_page(student, PatientForm(formdata=None))


@bp.route("/<int:student_id>/patients", methods=["POST"])
@login_required
def add_patient(student_id: int):
    student = load_or_404(User, student_id, can_manage_panel, owner=lambda s: s.id)
    form = PatientForm()
    if not submissions.valid(form):
        return _panel_page(student, form, 400)
    if (again := submissions.repeated()) is not None:
        return again
    try:
        entry = service.add_patient(_user(), student, _details(form))
    except service.PanelError as error:
        put_error(form, error)
        return _panel_page(student, form, error.status)
    if entry.consent_date is None:
        flash(_("Added. Record their consent before inviting them."), "success")
    else:
        flash(_("Added to the panel."), "success")
    return redirect(
        submissions.done(url_for("panels.panel", student_id=student.id) + f"#entry-{entry.id}")
    )


@bp.route("/entries/<int:entry_id>", methods=["GET", "POST"])
@login_required
def edit_entry(entry_id: int):
    entry = load_or_404(PanelEntry, entry_id, can_edit_panel_entry)
    if request.method == "GET":
        form = PatientForm(
            data={
                "name": entry.patient.name,
                "language": entry.patient.preferred_language,
                "email": entry.patient.email or "",
                "consent_date": entry.consent_date,
                "end_date": entry.end_date,
            }
        )
        return render_template("panels/entry.html", entry=entry, form=form)
    form = PatientForm()
    if form.validate_on_submit():
        try:
            service.update_entry(_user(), entry, _details(form))
        except service.PanelError as error:
            put_error(form, error)
            return render_template("panels/entry.html", entry=entry, form=form), error.status
        flash(_("Saved."), "success")
        return redirect(url_for("panels.panel", student_id=entry.student_id))
    return render_template("panels/entry.html", entry=entry, form=form), 400


# --- invitations -----------------------------------------------------------------------------


@bp.route("/entries/<int:entry_id>/invitations", methods=["POST"])
@login_required
def invite(entry_id: int):
    entry = load_or_404(PanelEntry, entry_id, can_invite_patient)
    goals = queries.goals_shared_with_patients(entry.student_id).get(entry.patient_id, [])
    form = _invitation_form(entry, goals, sent=True)

    def refused():
        return _panel_page(entry.student, PatientForm(formdata=None), 400, invite=(entry.id, form))

    if not submissions.valid(form):
        if form.purpose.errors:
            form.purpose.errors = [_("Choose what the invitation is for.")]
        return refused()
    if (again := submissions.repeated()) is not None:
        return again
    purpose = InvitationPurpose(form.purpose.data)
    goal = next((g for g in goals if g.id == form.goal.data), None)
    if purpose is InvitationPurpose.GOAL_INPUT and goal is None:
        goal = db.session.get(LearningGoal, form.goal.data) if form.goal.data else None
    try:
        invitation, token = service.create_invitation(
            _user(),
            entry,
            purpose,
            goal=goal,
            send_email=bool(form.send_email and form.send_email.data),
        )
    except service.PanelError as error:
        put_error(form, error)
        return refused()
    session.setdefault(NEW_TOKENS, {})[str(invitation.id)] = token
    session.modified = True
    return redirect(submissions.done(url_for("panels.invitation", invitation_id=invitation.id)))


def _qr_svg(link: str) -> Markup:
    """The link as an inline SVG QR code (segno; no image files, prints sharply)."""
    code = segno.make(link, error="m")
    svg = code.svg_inline(scale=6, border=2, omitsize=True, title=_("QR code of the link"))
    # segno escapes the title itself; the SVG is generated from our own link only.
    return Markup(svg)  # noqa: S704


@bp.route("/invitations/<int:invitation_id>")
@login_required
def invitation(invitation_id: int):
    invitation = load_or_404(PatientInvitation, invitation_id, can_manage_invitation)
    token = session.get(NEW_TOKENS, {}).pop(str(invitation.id), None)
    session.modified = True
    link = service.link_for(token) if token else None
    language = _card_language(invitation)
    return render_template(
        "panels/invitation.html",
        invitation=invitation,
        link=link,
        card=_patient_card(invitation, link, language) if link else None,
        card_language=service.LANGUAGE_NAMES[language],
        state=service.invitation_state(invitation),
    )


def _card_language(invitation: PatientInvitation) -> str:
    language = visit.language_of(invitation)
    return language if language in service.LANGUAGE_NAMES else "en"


def _patient_card(invitation: PatientInvitation, link: str, language: str) -> Markup:
    """The card the patient reads, in the patient's language (the page around it stays in
    the student's)."""
    with force_locale(language):
        html = render_template(
            "panels/_patient_card.html",
            invitation=invitation,
            student=invitation.student,
            school=visit.school_name(invitation),
            language=language,
            link=link,
            qr=_qr_svg(link),
        )
    return Markup(html)  # noqa: S704 — our own template, autoescaped


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@login_required
def revoke(invitation_id: int):
    invitation = load_or_404(PatientInvitation, invitation_id, can_manage_invitation)
    try:
        service.revoke_invitation(_user(), invitation)
    except service.PanelError as error:
        put_error(None, error)
    else:
        flash(_("The link no longer works."), "success")
    return redirect(url_for("panels.panel", student_id=invitation.student_id))


# --- feedback --------------------------------------------------------------------------------


@bp.route("/<int:student_id>/feedback")
@login_required
def feedback(student_id: int):
    student = load_or_404(User, student_id, can_view_patient_feedback, owner=lambda s: s.id)
    responses, trends = queries.feedback_of(student.id)
    return render_template(
        "panels/feedback.html", student=student, responses=responses, trends=trends
    )


@bp.route("/feedback/<int:feedback_id>/remove", methods=["GET", "POST"])
@login_required
def remove_feedback(feedback_id: int):
    item = load_or_404(PatientFeedback, feedback_id, can_remove_feedback)
    if request.method == "GET":
        return render_template("panels/remove_feedback.html", item=item)
    student_id = item.student_id
    service.remove_feedback(_user(), item)
    flash(_("The response was removed. The audit log keeps only that it was removed."), "success")
    return redirect(url_for("panels.feedback", student_id=student_id))
