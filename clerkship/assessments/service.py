"""The rules of informed self-assessment and co-signed preceptor assessment (workflow 2).

A cycle moves ``open → revealed → awaiting_signature → signed``, with ``returned`` as a loop
back to the student before signing. Both ratings are blind until both are in. Once signed,
nothing about the record changes again; corrections are signed addenda.

Services take the actor and plain data, enforce the rules, write audit events and queue
e-mails; they flush and never commit. A broken rule raises :class:`AssessmentError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from clerkship import audit, permissions, signed_content
from clerkship.assessments import notify
from clerkship.auth import passwords
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.models import (
    AssessmentAddendum,
    AssessmentCycle,
    Cohort,
    Competency,
    CycleStatus,
    Enrollment,
    EntrustmentLevel,
    EntrustmentScale,
    Framework,
    LearningGoal,
    PatientFeedback,
    PreceptorAssessment,
    Program,
    Reflection,
    Role,
    SelfAssessment,
    Signature,
    SignatureMeaning,
    User,
    utcnow,
)

# What a preceptor's co-signature can mean: a fixed list, never free text.
COSIGN_MEANINGS = {
    SignatureMeaning.REVIEWED_AND_AGREED: _l("Reviewed and agreed"),
    SignatureMeaning.COSIGNED_SUPERVISOR: _l("Co-signed as supervising preceptor"),
}

STATUS_LABELS = {
    CycleStatus.OPEN: _l("waiting for ratings"),
    CycleStatus.REVEALED: _l("ratings revealed"),
    CycleStatus.AWAITING_SIGNATURE: _l("waiting for signature"),
    CycleStatus.RETURNED: _l("returned to the student"),
    CycleStatus.SIGNED: _l("signed"),
}

# What a queue row asks of its reader.
WAITING_LABELS = {
    "self_assess": _l("Rate yourself"),
    "react": _l("Write your reaction and plan"),
    "revise": _l("Returned to you: look again"),
    "rate": _l("Rate"),
    "sign": _l("Review and sign"),
}

LEVEL_WORDS = {1: _l("one level"), 2: _l("two levels"), 3: _l("three levels")}


class AssessmentError(DomainError):
    """A rule was broken; ``field`` names the form field the message belongs beside."""


class IllegalStep(AssessmentError):
    status = 409


class ChangedMeanwhile(IllegalStep):
    """The form showed an older version of the record than the one it would sign or return."""


class WrongPassword(AssessmentError):
    """The password re-entered at signing did not match; counted and audited."""

    status = 400


class SignedRecordChanged(RuntimeError):
    """Raised at flush if anything tries to change a signed record behind the services."""


@dataclass
class SelfRating:
    level_id: int | None
    evidence: str
    interpretation: str = ""
    goal_ids: tuple[int, ...] = ()
    feedback_ids: tuple[int, ...] = ()
    reflection_ids: tuple[int, ...] = ()


# --- the program's scale and frameworks ------------------------------------------------------


def _student_programs(student_id: int):
    return (
        select(Cohort.program_id)
        .join(Enrollment, Enrollment.cohort_id == Cohort.id)
        .where(Enrollment.student_id == student_id)
    )


def scale_for(student_id: int) -> EntrustmentScale | None:
    """The entrustment scale of the student's program (the instance default otherwise)."""
    scale = db.session.scalar(
        select(EntrustmentScale)
        .join(Program, Program.scale_id == EntrustmentScale.id)
        .where(Program.id.in_(_student_programs(student_id)))
        .order_by(Program.id)
        .limit(1)
    )
    if scale is None:
        from clerkship import seeds

        scale = seeds.default_scale()
    return scale


def competencies_for(student_id: int) -> list[Competency]:
    """Competencies of the frameworks the student's programs assess against.

    A program that has not chosen its frameworks yet uses every framework on the instance.
    """
    from clerkship.frameworks.queries import pickable

    return [node for _framework, _depth, node in pickable(student_id)]


def level_in_scale(
    student_id: int, level_id: int | None, field: str = "level"
) -> EntrustmentLevel:
    scale = scale_for(student_id)
    level = db.session.get(EntrustmentLevel, level_id) if level_id else None
    if level is None or scale is None or level.scale_id != scale.id:
        raise AssessmentError(_("Choose one of the levels on the scale."), field=field)
    return level


# --- small rules -----------------------------------------------------------------------------


def _ensure_unsigned(cycle: AssessmentCycle) -> None:
    if cycle.status is CycleStatus.SIGNED:
        raise IllegalStep(
            _("This assessment is signed and can no longer change. Add an addendum instead.")
        )


def _move(cycle: AssessmentCycle, to: CycleStatus) -> None:
    cycle.status = to
    cycle.status_changed_at = utcnow()


def ensure_seen(cycle: AssessmentCycle, seen_version: int | None) -> None:
    """Sign or return only what the preceptor's form showed (``seen_version``: the cycle's
    ``version_id`` when the form was opened). None: a caller that reads and acts at once."""
    if seen_version is not None and seen_version != cycle.version_id:
        raise ChangedMeanwhile(
            _(
                "This assessment changed after you opened it. Read what it says now, below, "
                "before you sign or return it."
            )
        )


def _required(text: str, message: str, field: str) -> str:
    if not (text or "").strip():
        raise AssessmentError(message, field=field)
    return text.strip()


def _own(model, ids, student_id: int, field: str) -> list:
    """Evidence links: only the student's own records, and every id must exist."""
    ids = set(ids or ())
    if not ids:
        return []
    rows = list(db.session.scalars(select(model).where(model.id.in_(ids))))
    if len(rows) != len(ids) or any(row.student_id != student_id for row in rows):
        raise AssessmentError(_("Choose only from your own records."), field=field)
    return rows


# --- starting a cycle ------------------------------------------------------------------------


def start_cycle(
    actor: User,
    *,
    student: User,
    preceptor: User,
    competency_id: int | None,
    period_start: date | None = None,
    period_end: date | None = None,
    encounter: str = "",
) -> AssessmentCycle:
    """Started by the student, or requested by one of their current preceptors."""
    if actor.id not in (student.id, preceptor.id):
        raise AssessmentError(_("Only the student or their preceptor can start an assessment."))
    if student.role is not Role.STUDENT:
        raise AssessmentError(_("Choose a student."), field="person")
    if not permissions.precepts(preceptor, student.id, active_only=True):
        raise AssessmentError(
            _("%(name)s is not a current preceptor of this student.", name=preceptor.name),
            field="person",
        )
    competency = next((c for c in competencies_for(student.id) if c.id == competency_id), None)
    if competency is None:
        raise AssessmentError(
            _("Choose a competency from the program’s frameworks."), field="competency"
        )
    encounter = (encounter or "").strip()
    if not encounter and not (period_start and period_end):
        raise AssessmentError(
            _("Give the period (from and to) or name the encounter."), field="period_start"
        )
    if period_start and period_end and period_end < period_start:
        raise AssessmentError(_("The period cannot end before it starts."), field="period_end")
    if scale_for(student.id) is None:
        raise AssessmentError(_("The program has no entrustment scale yet; ask its director."))
    cycle = AssessmentCycle(
        student_id=student.id,
        preceptor_id=preceptor.id,
        competency_id=competency.id,
        requested_by_id=actor.id,
        period_start=period_start,
        period_end=period_end,
        encounter=encounter,
        status=CycleStatus.OPEN,
        status_changed_at=utcnow(),
    )
    db.session.add(cycle)
    db.session.flush()
    audit.record(
        actor,
        "assessment.started",
        cycle,
        after={"competency": competency.code, "student": student.id, "preceptor": preceptor.id},
    )
    notify.started(cycle, actor=actor)
    return cycle


# --- the two blind ratings -------------------------------------------------------------------


def submit_self_assessment(student: User, cycle: AssessmentCycle, rating: SelfRating):
    if student.id != cycle.student_id:
        raise AssessmentError(_("Only the student rates themself."))
    _ensure_unsigned(cycle)
    if cycle.self_assessment is not None and cycle.self_assessment.submitted_at:
        raise IllegalStep(_("You have already submitted your self-assessment."))
    if cycle.status is not CycleStatus.OPEN:
        raise IllegalStep(_("This assessment is no longer waiting for ratings."))
    level = level_in_scale(cycle.student_id, rating.level_id)
    evidence = _required(
        rating.evidence, _("Say what you based your rating on."), field="evidence"
    )
    entry = cycle.self_assessment or SelfAssessment()
    entry.level_id = level.id
    entry.evidence = evidence
    entry.interpretation = (rating.interpretation or "").strip()
    entry.goals = _own(LearningGoal, rating.goal_ids, student.id, "goals")
    entry.feedback = _own(PatientFeedback, rating.feedback_ids, student.id, "feedback")
    entry.reflections = _own(Reflection, rating.reflection_ids, student.id, "reflections")
    entry.submitted_at = utcnow()
    cycle.self_assessment = entry
    cycle.updated_at = utcnow()
    db.session.flush()
    audit.record(student, "assessment.self_submitted", cycle, after={"level": level.value})
    _reveal_if_complete(cycle, actor=student)
    return entry


def submit_preceptor_assessment(
    preceptor: User,
    cycle: AssessmentCycle,
    *,
    level_id: int | None,
    went_well: str,
    work_on: str,
) -> PreceptorAssessment:
    if not permissions.can_rate_assessment(preceptor, cycle):
        raise AssessmentError(_("Only the student’s current preceptor for this cycle can rate."))
    _ensure_unsigned(cycle)
    if cycle.preceptor_assessment is not None and cycle.preceptor_assessment.submitted_at:
        raise IllegalStep(_("You have already submitted your rating."))
    if cycle.status is not CycleStatus.OPEN:
        raise IllegalStep(_("This assessment is no longer waiting for ratings."))
    went_well = _required(went_well, _("Say what went well."), field="went_well")
    work_on = _required(work_on, _("Say what to work on next."), field="work_on")
    level = level_in_scale(cycle.student_id, level_id)
    entry = PreceptorAssessment(
        assessor_id=preceptor.id,
        level_id=level.id,
        went_well=went_well,
        work_on=work_on,
        submitted_at=utcnow(),
    )
    cycle.preceptor_assessment = entry
    cycle.updated_at = utcnow()
    db.session.flush()
    audit.record(preceptor, "assessment.rated", cycle, after={"level": level.value})
    _reveal_if_complete(cycle, actor=preceptor)
    return entry


def _reveal_if_complete(cycle: AssessmentCycle, *, actor: User) -> None:
    if cycle.both_submitted:
        _move(cycle, CycleStatus.REVEALED)
        db.session.flush()
        audit.record(actor, "assessment.revealed", cycle, after={"gap": gap(cycle)})
        notify.revealed(cycle, actor=actor)
    else:
        notify.rating_submitted(cycle, actor=actor)


def gap(cycle: AssessmentCycle) -> int | None:
    """Self minus preceptor, in scale steps; None while the ratings are still blind."""
    if not cycle.both_submitted:
        return None
    own, theirs = cycle.ratings()
    return own.value - theirs.value


def gap_sentence(cycle: AssessmentCycle, viewer: User) -> str:
    """Name the gap in words, from the reader's side of it."""
    difference = gap(cycle)
    if difference is None:
        return ""
    if difference == 0:
        if viewer.id == cycle.student_id:
            return _("You and your preceptor chose the same level.")
        return _("%(student)s and the preceptor chose the same level.", student=cycle.student.name)
    steps = LEVEL_WORDS.get(abs(difference)) or ngettext(
        "%(num)d level", "%(num)d levels", abs(difference)
    )
    if viewer.id == cycle.student_id:
        if difference > 0:
            return _("You rated yourself %(steps)s above your preceptor.", steps=steps)
        return _("You rated yourself %(steps)s below your preceptor.", steps=steps)
    name = cycle.student.name
    if difference > 0:
        return _(
            "%(student)s rated themself %(steps)s above the preceptor.", student=name, steps=steps
        )
    return _(
        "%(student)s rated themself %(steps)s below the preceptor.", student=name, steps=steps
    )


# --- the student's reaction and plan ---------------------------------------------------------


def record_reaction(student: User, cycle: AssessmentCycle, *, reaction: str, plan: str) -> None:
    """How the feedback compares with the student's own view, and what they will do."""
    if student.id != cycle.student_id:
        raise AssessmentError(_("Only the student writes the reaction and plan."))
    _ensure_unsigned(cycle)
    if cycle.status not in (CycleStatus.REVEALED, CycleStatus.RETURNED):
        raise IllegalStep(
            _("The reaction and plan come after both ratings are in and before signing.")
        )
    entry, _theirs = cycle.rated()
    entry.reaction = _required(
        reaction, _("Say how the feedback compares with your own view."), field="reaction"
    )
    old_plan = entry.plan or ""
    entry.plan = _required(plan, _("Say what you will do next."), field="plan")
    _move(cycle, CycleStatus.AWAITING_SIGNATURE)
    if old_plan and entry.plan != old_plan:
        from clerkship.goals import service as goals

        for goal in cycle.plan_goals:
            goals.follow_plan(student, goal, old_plan, entry.plan)
    cycle.updated_at = utcnow()
    db.session.flush()
    audit.record(
        student,
        "assessment.reaction",
        cycle,
        after={"reaction": entry.reaction, "plan": entry.plan},
    )
    notify.ready_to_sign(cycle, actor=student)


def goal_from_plan(student: User, cycle: AssessmentCycle, title: str) -> LearningGoal:
    """Turn the plan into a draft learning goal, linked both ways (goal ↔ cycle)."""
    from clerkship.goals import service as goals

    if student.id != cycle.student_id:
        raise AssessmentError(_("Only the student can make a goal from the plan."))
    entry = cycle.self_assessment
    if not cycle.both_submitted or entry is None or not entry.plan:
        raise IllegalStep(_("Write your plan first."), field="plan")
    title = _required(title, _("Give the goal a short title."), field="goal_title")
    try:
        goal = goals.create_goal(
            student, goals.GoalText(title=title, actions=entry.plan), [cycle.competency]
        )
    except goals.GoalError as error:
        raise AssessmentError(error.message, field="goal_title") from error
    goal.from_assessment_id = cycle.id
    db.session.flush()
    audit.record(student, "assessment.goal_from_plan", cycle, after={"goal": goal.id})
    return goal


# --- co-signature ----------------------------------------------------------------------------


def _reauthenticate(user: User, password: str, cycle: AssessmentCycle) -> None:
    """The second component of an electronic signature: the password, entered again."""
    if not passwords.check_password(user, password or ""):
        audit.record_refusal(user, "assessment.signature_failed", cycle)
        raise WrongPassword(
            _("That password is not right. Enter your own password to sign."), "password"
        )


def cosigned_record(cycle: AssessmentCycle) -> dict:
    """The record's own fields a co-signature covers: every rating and written part.

    Levels are kept by id (their wording is a label, stored in the snapshot's labels), so
    editing the scale never breaks a signature while changing a rating always does.
    """
    own, theirs = cycle.rated()
    return {
        "cycle": cycle.id,
        "student": cycle.student_id,
        "preceptor": cycle.preceptor_id,
        "competency": cycle.competency_id,
        "period": [cycle.period_start, cycle.period_end],
        "encounter": cycle.encounter,
        "self": {
            "level": own.level_id,
            "evidence": own.evidence,
            "interpretation": own.interpretation,
            "goals": [goal.id for goal in own.goals],
            # Patient feedback links are left out: a patient may withdraw their answers at
            # any time, and that must not break a signature.
            "reflections": [item.id for item in own.reflections],
            "reaction": own.reaction,
            "plan": own.plan,
            "submitted_at": own.submitted_at,
        },
        "preceptor_assessment": {
            "assessor": theirs.assessor_id,
            "level": theirs.level_id,
            "went_well": theirs.went_well,
            "work_on": theirs.work_on,
            "submitted_at": theirs.submitted_at,
        },
    }


def _level_label(level) -> dict:
    return {
        "value": level.value,
        "label": level.label,
        "description": level.description,
        "scale": {"id": level.scale.id, "code": level.scale.code, "name": level.scale.name},
    }


def cosigned_labels(cycle: AssessmentCycle) -> dict:
    """What the signer saw beside the record: competency, framework and scale wording."""
    own_level, their_level = cycle.ratings()
    # Only the label columns: the re-signing migration runs this before later migrations
    # have added the frameworks' other columns (tree, URI, version).
    competency = db.session.execute(
        select(
            Competency.id,
            Competency.code,
            Competency.title,
            Framework.id,
            Framework.code,
            Framework.name,
        )
        .join(Framework, Framework.id == Competency.framework_id)
        .where(Competency.id == cycle.competency_id)
    ).one()
    return {
        "competency": {"id": competency[0], "code": competency[1], "title": competency[2]},
        "framework": {"id": competency[3], "code": competency[4], "name": competency[5]},
        "self_level": _level_label(own_level),
        "preceptor_level": _level_label(their_level),
    }


def sign(
    preceptor: User,
    cycle: AssessmentCycle,
    *,
    password: str | None,
    meaning: str | None,
    seen_version: int | None = None,
    authentication: dict | None = None,
) -> Signature:
    """Co-sign. ``authentication``: a fresh school sign-in (clerkship.sso) made just before;
    without one, the password is entered again. Either way the signature records which."""
    if preceptor.id == cycle.student_id:
        raise AssessmentError(_("You cannot sign your own self-assessment."))
    if not permissions.can_sign_assessment(preceptor, cycle):
        raise AssessmentError(_("Only the student’s current preceptor for this cycle can sign."))
    if cycle.status is CycleStatus.SIGNED:
        raise IllegalStep(_("This assessment is already signed."))
    if cycle.status is not CycleStatus.AWAITING_SIGNATURE:
        raise IllegalStep(_("This assessment is not ready to sign yet."))
    ensure_seen(cycle, seen_version)
    try:
        chosen = SignatureMeaning(meaning or "")
    except ValueError:
        chosen = None
    if chosen not in COSIGN_MEANINGS:
        raise AssessmentError(_("Choose what your signature means."), field="meaning")
    if authentication is None:
        _reauthenticate(preceptor, password or "", cycle)
        authentication = {"method": "password", "at": utcnow().replace(microsecond=0)}
    return record_cosignature(preceptor, cycle, chosen, authentication=authentication)


def record_cosignature(
    preceptor: User,
    cycle: AssessmentCycle,
    meaning: SignatureMeaning,
    *,
    at=None,
    authentication: dict | None = None,
) -> Signature:
    """Write the signature once :func:`sign` has checked the rules and the password.

    Only trusted code calls this directly: the demo year, which also back-dates with ``at``.
    """
    signature = signed_content.sign(
        preceptor,
        meaning,
        cycle,
        cosigned_record(cycle),
        cosigned_labels(cycle),
        at=at,
        authentication=authentication,
    )
    cycle.signature_id = signature.id
    cycle.signature = signature
    _move(cycle, CycleStatus.SIGNED)
    if at is not None:
        cycle.status_changed_at = at
    cycle.updated_at = utcnow()
    db.session.flush()
    audit.record(
        preceptor,
        "assessment.signed",
        cycle,
        after={"meaning": meaning.value, "hash": signature.content_hash},
    )
    notify.signed(cycle, actor=preceptor)
    return signature


def return_to_student(
    preceptor: User, cycle: AssessmentCycle, comment: str, *, seen_version: int | None = None
) -> None:
    if not permissions.can_sign_assessment(preceptor, cycle):
        raise AssessmentError(
            _("Only the student’s current preceptor for this cycle can return it.")
        )
    _ensure_unsigned(cycle)
    if cycle.status is not CycleStatus.AWAITING_SIGNATURE:
        raise IllegalStep(_("Only an assessment waiting for your signature can be returned."))
    ensure_seen(cycle, seen_version)
    cycle.return_comment = _required(
        comment, _("Say what the student should look at again."), field="comment"
    )
    _move(cycle, CycleStatus.RETURNED)
    cycle.updated_at = utcnow()
    db.session.flush()
    audit.record(preceptor, "assessment.returned", cycle, after={"comment": cycle.return_comment})
    notify.returned(cycle, actor=preceptor)


def signature_valid(cycle: AssessmentCycle) -> bool | None:
    """None when unsigned; otherwise the co-signature checked against the record as it is."""
    if cycle.signature is None:
        return None
    return signed_content.verify(cycle.signature, cosigned_record(cycle))


@signed_content.reader(AssessmentCycle.__tablename__)
def _signed_cycle(signature: Signature) -> dict | None:
    cycle = db.session.get(AssessmentCycle, signature.subject_id)
    if cycle is None or cycle.signature_id != signature.id:
        return None
    return cosigned_record(cycle)


# --- addenda ---------------------------------------------------------------------------------


def addendum_record(addendum: AssessmentAddendum, original: Signature) -> dict:
    return {
        "cycle": addendum.cycle_id,
        "addendum": addendum.id,
        "author": addendum.author_id,
        "body": addendum.body,
        "original": original.content_hash,
    }


def add_addendum(
    author: User, cycle: AssessmentCycle, *, body: str, password: str, withdraws: bool = False
):
    """A signed correction shown beneath the original, which itself never changes.
    ``withdraws``: it also withdraws the entrustment decision (its credential is revoked)."""
    if cycle.status is not CycleStatus.SIGNED:
        raise IllegalStep(_("Addenda are for signed assessments; change the record instead."))
    if not permissions.can_add_addendum(author, cycle):
        raise AssessmentError(
            _("Only the student or their current preceptor can add an addendum.")
        )
    body = _required(body, _("Write the correction or addition."), field="body")
    if withdraws and not permissions.can_withdraw_decision(author, cycle):
        raise AssessmentError(
            _("Only the preceptor can withdraw an entrustment decision."),
            field="withdraws_decision",
        )
    _reauthenticate(author, password, cycle)
    addendum = record_addendum(author, cycle, body)
    if withdraws:
        from clerkship.credentials import withdrawal  # credentials build on assessments

        withdrawal.withdraw_decision(author, cycle, addendum)
    return addendum


def record_addendum(author: User, cycle: AssessmentCycle, body: str) -> AssessmentAddendum:
    """Write a signed addendum once :func:`add_addendum` has checked rules and password."""
    addendum = AssessmentAddendum(cycle_id=cycle.id, author_id=author.id, body=body)
    db.session.add(addendum)
    db.session.flush()
    if cycle.signature is None:
        raise IllegalStep(_("Only a signed assessment takes an addendum."))
    signature = signed_content.sign(
        author, SignatureMeaning.ADDENDUM, addendum, addendum_record(addendum, cycle.signature)
    )
    addendum.signature_id = signature.id
    addendum.signature = signature
    db.session.flush()
    audit.record(
        author, "assessment.addendum", cycle, after={"addendum": addendum.id, "body": body}
    )
    notify.addendum_added(cycle, addendum, actor=author)
    return addendum


def addendum_valid(addendum: AssessmentAddendum, cycle: AssessmentCycle) -> bool:
    if cycle.signature is None:
        return False
    return signed_content.verify(addendum.signature, addendum_record(addendum, cycle.signature))


@signed_content.reader(AssessmentAddendum.__tablename__)
def _signed_addendum(signature: Signature) -> dict | None:
    addendum = db.session.get(AssessmentAddendum, signature.subject_id)
    if addendum is None or addendum.signature_id != signature.id:
        return None
    original = addendum.cycle.signature
    return addendum_record(addendum, original) if original else None


# --- a last line of defence: signed records do not change, whoever tries ----------------------


def _was_signed(cycle: AssessmentCycle) -> bool:
    history = inspect(cycle).attrs.status.history
    before = (history.deleted or history.unchanged or (None,))[0]
    return before is CycleStatus.SIGNED


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_signed_records(session, flush_context, instances):
    for obj in session.dirty:
        if not session.is_modified(obj, include_collections=False):
            continue
        if isinstance(obj, AssessmentCycle) and _was_signed(obj):
            raise SignedRecordChanged(f"assessment cycle {obj.id} is signed")
        if isinstance(obj, SelfAssessment | PreceptorAssessment) and _was_signed(obj.cycle):
            raise SignedRecordChanged(f"assessment cycle {obj.cycle_id} is signed")
