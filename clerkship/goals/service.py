"""The rules of coproduced learning goals (DESIGN.md, workflow 1).

Services take the actor and plain data, enforce the rules, write audit events and queue
notifications; they flush and never commit. A broken rule raises :class:`GoalError` (or a
subclass) carrying the form field it belongs to and the HTTP status to answer with.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from clerkship import audit, clock, permissions, signed_content
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.goals import notify
from clerkship.models import (
    Competency,
    ContributionKind,
    GoalContribution,
    GoalShare,
    GoalStatus,
    GoalVersion,
    LearningGoal,
    Role,
    Signature,
    SignatureMeaning,
    SuggestionState,
    User,
    utcnow,
)

# The SMART parts, in the order they are shown; the first four can be suggested as text.
FIELD_LABELS = {
    "title": _l("Goal"),
    "specific": _l("What exactly"),
    "measure": _l("How progress will be seen"),
    "actions": _l("Actions"),
    "target_date": _l("Target date"),
    "competencies": _l("Competencies"),
}
SUGGESTABLE_FIELDS = ("title", "specific", "measure", "actions")
CONTRIBUTION_LABELS = {
    ContributionKind.SUGGESTION: _l("suggestion"),
    ContributionKind.COMMENT: _l("comment"),
    ContributionKind.PROGRESS_NOTE: _l("progress note"),
    ContributionKind.AGREEMENT: _l("agreement"),
    ContributionKind.ENDORSEMENT: _l("endorsement"),
}

TRANSITIONS: dict[GoalStatus, set[GoalStatus]] = {
    GoalStatus.DRAFT: {GoalStatus.SHARED, GoalStatus.DROPPED},
    GoalStatus.SHARED: {GoalStatus.AGREED, GoalStatus.DROPPED},
    GoalStatus.AGREED: {
        GoalStatus.SHARED,  # an edit after agreement goes back for agreement
        GoalStatus.ACHIEVED,
        GoalStatus.REVISED,
        GoalStatus.DROPPED,
    },
    GoalStatus.ACHIEVED: set(),
    GoalStatus.REVISED: set(),
    GoalStatus.DROPPED: set(),
}
CLOSED = frozenset({GoalStatus.ACHIEVED, GoalStatus.REVISED, GoalStatus.DROPPED})
CLOSING_OUTCOMES = (GoalStatus.ACHIEVED, GoalStatus.REVISED, GoalStatus.DROPPED)


class GoalError(DomainError):
    """A rule was broken; ``field`` names the form field the message belongs beside."""


class IllegalTransition(GoalError):
    status = 409


class AlreadyDone(GoalError):
    status = 409


class ChangedMeanwhile(GoalError):
    """The agree form showed an older version than the goal's current one."""

    status = 409


class EditConflict(GoalError):
    """Someone saved the goal after this form was opened."""

    status = 409


@dataclass
class GoalText:
    title: str
    specific: str = ""
    measure: str = ""
    actions: str = ""
    target_date: date | None = None


def _move(goal: LearningGoal, to: GoalStatus) -> None:
    if to not in TRANSITIONS[goal.status]:
        raise IllegalTransition(
            _(
                "A goal that is %(current)s cannot become %(target)s.",
                current=status_label(goal.status),
                target=status_label(to),
            )
        )
    goal.status = to


def _flush() -> None:
    """Write now. If someone saved the same goal after we read it (its lock version moved
    on), the database matches no row: that is a conflict the person can act on, not a crash.
    """
    try:
        db.session.flush()
    except StaleDataError as error:
        raise EditConflict(
            _(
                "Someone else changed this goal at the same moment. Nothing of yours was "
                "saved; look at the goal as it is now and try again."
            )
        ) from error


def status_label(status: GoalStatus) -> str:
    return {
        GoalStatus.DRAFT: _("draft"),
        GoalStatus.SHARED: _("shared"),
        GoalStatus.AGREED: _("agreed"),
        GoalStatus.ACHIEVED: _("achieved"),
        GoalStatus.REVISED: _("revised"),
        GoalStatus.DROPPED: _("dropped"),
    }[status]


def _ensure_open(goal: LearningGoal) -> None:
    if goal.status in CLOSED:
        raise IllegalTransition(
            _("This goal was closed as %(status)s.", status=status_label(goal.status))
        )


def _check_text(text: GoalText, *, today: date) -> None:
    if not text.title.strip():
        raise GoalError(_("Give the goal a short title."), field="title")
    if text.target_date is not None and text.target_date < today:
        raise GoalError(_("The target date cannot be in the past."), field="target_date")


def _competency_labels(competencies: list[Competency]) -> list[str]:
    return [c.label for c in sorted(competencies, key=lambda c: (c.framework_id, c.position))]


def _snapshot(text: GoalText) -> dict:
    return {f.name: getattr(text, f.name) for f in fields(text)}


def version_content(goal: LearningGoal, version: GoalVersion) -> dict:
    """Exactly what an agreement to ``version`` signs."""
    return {
        "goal_id": goal.id,
        "student_id": goal.student_id,
        "version": version.number,
        "title": version.title,
        "specific": version.specific,
        "measure": version.measure,
        "actions": version.actions,
        "target_date": version.target_date,
        "competencies": list(version.competencies),
    }


def text_of(version: GoalVersion) -> GoalText:
    return GoalText(
        title=version.title,
        specific=version.specific,
        measure=version.measure,
        actions=version.actions,
        target_date=version.target_date,
    )


def _add_version(
    goal: LearningGoal,
    author: User,
    text: GoalText,
    competencies: list[Competency],
    *,
    from_contribution: GoalContribution | None = None,
) -> GoalVersion:
    number = (goal.latest.number + 1) if goal.versions else 1
    version = GoalVersion(
        number=number,
        title=text.title.strip(),
        specific=text.specific.strip(),
        measure=text.measure.strip(),
        actions=text.actions.strip(),
        target_date=text.target_date,
        competencies=_competency_labels(competencies),
        author_id=author.id,
        from_contribution_id=from_contribution.id if from_contribution else None,
    )
    goal.versions.append(version)
    goal.current_version = number
    return version


# --- the student's own actions ---------------------------------------------------------------


def create_goal(student: User, text: GoalText, competencies: list[Competency]) -> LearningGoal:
    if student.role is not Role.STUDENT:
        raise GoalError(_("Only students own learning goals."))
    _check_text(text, today=clock.today())
    goal = LearningGoal(student_id=student.id, status=GoalStatus.DRAFT)
    goal.competencies = list(competencies)
    db.session.add(goal)
    _add_version(goal, student, text, competencies)
    _flush()
    audit.record(student, "goal.created", goal, after=_snapshot(text))
    return goal


def edit_goal(
    student: User,
    goal: LearningGoal,
    text: GoalText,
    competencies: list[Competency],
    *,
    seen_version_id: int,
) -> GoalVersion | None:
    """Save new wording as a new version; an agreed goal goes back to *shared*.

    ``seen_version_id`` is the goal's lock version when the form was opened: if someone
    saved in between, :class:`EditConflict` is raised and nothing is written.
    """
    _ensure_open(goal)
    if goal.version_id != seen_version_id:
        raise EditConflict(_("Someone else changed this goal while you were editing it."))
    _check_text(text, today=clock.today())
    before = text_of(goal.latest)
    new_labels = _competency_labels(competencies)
    if _snapshot(before) == _snapshot(_strip(text)) and goal.latest.competencies == new_labels:
        return None
    version = _add_version(goal, student, text, competencies)
    goal.competencies = list(competencies)
    if goal.status is GoalStatus.AGREED:
        _move(goal, GoalStatus.SHARED)
    goal.updated_at = utcnow()
    _flush()
    audit.record(
        student, "goal.edited", goal, before=_snapshot(before), after=_snapshot(text_of(version))
    )
    notify.goal_changed(goal, version, actor=student)
    return version


def follow_plan(student: User, goal: LearningGoal, old_plan: str, new_plan: str) -> bool:
    """A goal made from an assessment's plan follows the plan while it is revised (the
    assessment was returned) until the goal is first agreed: the agreement is to the words
    a preceptor read, so after it the goal changes only by the student's own edit. The
    student's own rewording of the actions is never overwritten either. True if it moved."""
    never_agreed = not any(c.kind is ContributionKind.AGREEMENT for c in goal.contributions)
    if goal.status not in (GoalStatus.DRAFT, GoalStatus.SHARED) or not never_agreed:
        return False
    before = text_of(goal.latest)
    if before.actions.strip() != (old_plan or "").strip() or not new_plan.strip():
        return False
    text = GoalText(
        title=before.title,
        specific=before.specific,
        measure=before.measure,
        actions=new_plan,
        target_date=before.target_date,
    )
    version = _add_version(goal, student, text, list(goal.competencies))
    goal.updated_at = utcnow()
    _flush()
    audit.record(
        student,
        "goal.plan_followed",
        goal,
        before=_snapshot(before),
        after=_snapshot(text_of(version)),
    )
    notify.goal_changed(goal, version, actor=student)
    return True


def _strip(text: GoalText) -> GoalText:
    return GoalText(
        title=text.title.strip(),
        specific=text.specific.strip(),
        measure=text.measure.strip(),
        actions=text.actions.strip(),
        target_date=text.target_date,
    )


def shareable_people(student: User) -> tuple[list[User], list[User]]:
    """(preceptors, patients) the student may share with today: active links only."""
    from clerkship.models import Assignment, PanelEntry

    now = clock.today()
    preceptors = db.session.scalars(
        select(User)
        .join(Assignment, Assignment.preceptor_id == User.id)
        .where(
            Assignment.student_id == student.id,
            permissions.pairing_active(now),
            User.active.is_(True),
        )
        .distinct()
        .order_by(User.name)
    ).all()
    patients = db.session.scalars(
        select(User)
        .join(PanelEntry, PanelEntry.patient_id == User.id)
        .where(
            PanelEntry.student_id == student.id,
            permissions.panel_active(now),
            User.active.is_(True),
        )
        .distinct()
        .order_by(User.name)
    ).all()
    return list(preceptors), list(patients)


def share_goal(student: User, goal: LearningGoal, people: list[User]) -> list[User]:
    """Set who sees the goal. At least one preceptor; only the student's own people.

    Returns the people newly added (they are notified). Removing someone hides the goal from
    them again; what they already contributed stays in the thread.
    """
    _ensure_open(goal)
    preceptors, patients = shareable_people(student)
    allowed = {u.id for u in preceptors + patients}
    if any(person.id not in allowed for person in people):
        raise GoalError(
            _("You can only share with your current preceptors and panel patients."),
            field="people",
        )
    if not any(person.role is Role.PRECEPTOR for person in people):
        raise GoalError(_("Choose at least one of your preceptors."), field="people")

    current = {share.user_id: share for share in goal.shares}
    chosen = {person.id: person for person in people}
    added = [person for person_id, person in chosen.items() if person_id not in current]
    for person in added:
        goal.shares.append(GoalShare(user_id=person.id))
    removed = [share for user_id, share in current.items() if user_id not in chosen]
    for share in removed:
        goal.shares.remove(share)
    if goal.status is GoalStatus.DRAFT:
        _move(goal, GoalStatus.SHARED)
    goal.updated_at = utcnow()
    _flush()
    audit.record(
        student,
        "goal.shared",
        goal,
        before={"people": sorted(current)},
        after={"people": sorted(chosen)},
    )
    notify.goal_shared(goal, added, actor=student)
    return added


def close_goal(student: User, goal: LearningGoal, outcome: GoalStatus, reflection: str) -> None:
    if outcome not in CLOSING_OUTCOMES:
        raise GoalError(_("Choose how the goal ended."), field="outcome")
    if not reflection.strip():
        raise GoalError(
            _("Write a few lines on what you learned before closing the goal."),
            field="reflection",
        )
    _ensure_open(goal)
    before = goal.status
    _move(goal, outcome)
    goal.closing_reflection = reflection.strip()
    goal.closed_at = utcnow()
    _flush()
    audit.record(
        student,
        "goal.closed",
        goal,
        before={"status": before.value},
        after={"status": outcome.value, "reflection": goal.closing_reflection},
    )
    notify.goal_closed(goal, actor=student)


# --- contributions from every voice ----------------------------------------------------------


def _contribution(
    goal: LearningGoal, author: User, kind: ContributionKind, **values
) -> GoalContribution:
    contribution = GoalContribution(
        author_id=author.id,
        author_role=author.role,
        kind=kind,
        version_number=goal.current_version,
        **values,
    )
    goal.contributions.append(contribution)
    goal.updated_at = utcnow()
    return contribution


def _require(allowed: bool) -> None:
    if not allowed:
        # The view already 404s for people who cannot see the goal; this is for those who
        # can see it but not act (an ended assignment, a director).
        raise GoalError(_("You can no longer add to this goal."), field="body")


def add_note(
    author: User, goal: LearningGoal, kind: ContributionKind, body: str, *, show_name: bool = False
):
    if kind not in (ContributionKind.COMMENT, ContributionKind.PROGRESS_NOTE):
        raise GoalError(_("Choose a comment or a progress note."), field="kind")
    _ensure_open(goal)
    _require(permissions.can_contribute_to_goal(author, goal))
    if not body.strip():
        raise GoalError(_("Write something first."), field="body")
    if goal.status is GoalStatus.DRAFT and kind is ContributionKind.PROGRESS_NOTE:
        raise GoalError(_("Share the goal before recording progress."), field="kind")
    contribution = _contribution(goal, author, kind, body=body.strip(), show_name=show_name)
    _flush()
    audit.record(author, f"goal.{kind.value}", contribution, after={"body": contribution.body})
    notify.contribution_added(goal, contribution)
    return contribution


def suggest(author: User, goal: LearningGoal, field: str, proposed: str, note: str = ""):
    """A preceptor or patient proposes new wording for one SMART field."""
    _ensure_open(goal)
    if author.id == goal.student_id:
        raise GoalError(_("Edit your goal directly to change its wording."), field="field")
    _require(permissions.can_contribute_to_goal(author, goal))
    if field not in SUGGESTABLE_FIELDS:
        raise GoalError(_("Choose which part of the goal to reword."), field="field")
    if not proposed.strip():
        raise GoalError(_("Write the wording you suggest."), field="proposed_text")
    if proposed.strip() == getattr(goal.latest, field):
        raise GoalError(_("That is the wording the goal already has."), field="proposed_text")
    contribution = _contribution(
        goal,
        author,
        ContributionKind.SUGGESTION,
        body=note.strip(),
        field=field,
        proposed_text=proposed.strip(),
        suggestion_state=SuggestionState.PENDING,
    )
    _flush()
    audit.record(
        author, "goal.suggestion", contribution, after={"field": field, "text": proposed.strip()}
    )
    notify.contribution_added(goal, contribution)
    return contribution


def _pending_suggestion(goal: LearningGoal, contribution: GoalContribution) -> None:
    if contribution.goal_id != goal.id or contribution.kind is not ContributionKind.SUGGESTION:
        raise GoalError(_("That suggestion does not belong to this goal."))
    if contribution.suggestion_state is not SuggestionState.PENDING:
        raise AlreadyDone(_("You have already answered that suggestion."))


def accept_suggestion(
    student: User, goal: LearningGoal, contribution: GoalContribution
) -> GoalVersion:
    """Take a suggestion: a new version, crediting whoever suggested it."""
    _ensure_open(goal)
    _pending_suggestion(goal, contribution)
    text = text_of(goal.latest)
    if contribution.field is None:
        raise GoalError(_("This suggestion names no field to change."))
    setattr(text, contribution.field, contribution.proposed_text)
    version = _add_version(
        goal, student, text, list(goal.competencies), from_contribution=contribution
    )
    contribution.suggestion_state = SuggestionState.ACCEPTED
    if goal.status is GoalStatus.AGREED:
        _move(goal, GoalStatus.SHARED)
    goal.updated_at = utcnow()
    _flush()
    audit.record(
        student,
        "goal.suggestion_accepted",
        contribution,
        after={"version": version.number, "field": contribution.field},
    )
    notify.suggestion_answered(goal, contribution, actor=student)
    return version


def decline_suggestion(
    student: User, goal: LearningGoal, contribution: GoalContribution, reason: str
) -> None:
    _ensure_open(goal)
    _pending_suggestion(goal, contribution)
    if not reason.strip():
        raise GoalError(_("Say briefly why, so they understand."), field="reason")
    contribution.suggestion_state = SuggestionState.DECLINED
    contribution.response_reason = reason.strip()
    goal.updated_at = utcnow()
    _flush()
    audit.record(
        student, "goal.suggestion_declined", contribution, after={"reason": reason.strip()}
    )
    notify.suggestion_answered(goal, contribution, actor=student)


def _already(goal: LearningGoal, author: User, kind: ContributionKind) -> bool:
    return any(
        c.kind is kind and c.author_id == author.id and c.version_number == goal.current_version
        for c in goal.contributions
    )


def has_endorsed(goal: LearningGoal, patient: User) -> bool:
    return _already(goal, patient, ContributionKind.ENDORSEMENT)


def agree(
    preceptor: User, goal: LearningGoal, *, seen_version: int | None = None
) -> GoalContribution:
    """A preceptor's signed agreement to the goal's current version — the one their form
    showed (``seen_version``; None: a caller that reads and agrees at once)."""
    _ensure_open(goal)
    if not permissions.can_agree_goal(preceptor, goal):
        raise GoalError(_("Only a current preceptor the goal is shared with can agree to it."))
    if seen_version is not None and seen_version != goal.current_version:
        raise ChangedMeanwhile(
            _("The goal changed while you were reading it. Read the new version first.")
        )
    if _already(goal, preceptor, ContributionKind.AGREEMENT):
        raise AlreadyDone(_("You have already agreed to this version."))
    if goal.status is GoalStatus.SHARED:
        _move(goal, GoalStatus.AGREED)
    elif goal.status is not GoalStatus.AGREED:
        raise IllegalTransition(_("Share the goal before it can be agreed."))
    version = goal.latest
    # The goal's own write first, through the conflict check: signing flushes (and chains).
    _flush()
    signature = signed_content.sign(
        preceptor, SignatureMeaning.AGREED_GOAL, goal, version_content(goal, version)
    )
    _flush()
    contribution = _contribution(
        goal, preceptor, ContributionKind.AGREEMENT, signature_id=signature.id
    )
    _flush()
    audit.record(
        preceptor,
        "goal.agreed",
        goal,
        after={"version": version.number, "hash": signature.content_hash},
    )
    notify.contribution_added(goal, contribution)
    return contribution


def endorse(
    patient: User, goal: LearningGoal, note: str = "", *, show_name: bool = False
) -> GoalContribution:
    """A patient says "this matters to me" about the current version."""
    _ensure_open(goal)
    if patient.role is not Role.PATIENT or not permissions.can_contribute_to_goal(patient, goal):
        raise GoalError(_("Only a patient the goal is shared with can endorse it."))
    if _already(goal, patient, ContributionKind.ENDORSEMENT):
        raise AlreadyDone(_("You have already said this goal matters to you."))
    contribution = _contribution(
        goal, patient, ContributionKind.ENDORSEMENT, body=note.strip(), show_name=show_name
    )
    _flush()
    audit.record(patient, "goal.endorsed", goal, after={"version": goal.current_version})
    notify.contribution_added(goal, contribution)
    return contribution


def agreement_is_valid(goal: LearningGoal, contribution: GoalContribution) -> bool:
    """The agreement checked against the version's wording as it is now."""
    version = next((v for v in goal.versions if v.number == contribution.version_number), None)
    return agreement_checks_out(goal, version, contribution.signature)


def agreement_checks_out(
    goal: LearningGoal, version: GoalVersion | None, signature: Signature | None
) -> bool:
    """:func:`agreement_is_valid` with the agreed version and the signature already at hand
    (lists that load them in one query)."""
    if version is None:
        return False
    return signed_content.verify(signature, version_content(goal, version))


@signed_content.reader(LearningGoal.__tablename__)
def _agreed_version(signature: Signature) -> dict | None:
    contribution = db.session.scalar(
        select(GoalContribution).where(GoalContribution.signature_id == signature.id)
    )
    if contribution is None or contribution.goal_id != signature.subject_id:
        return None
    goal = contribution.goal
    version = next((v for v in goal.versions if v.number == contribution.version_number), None)
    return version_content(goal, version) if version else None
