"""Assessment lists, queues and calibration data, eager-loaded so their cost does not grow
with the number of records."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from clerkship import dates, permissions
from clerkship.clock import today
from clerkship.extensions import db
from clerkship.models import (
    AssessmentAddendum,
    AssessmentCycle,
    Assignment,
    Competency,
    CycleStatus,
    EntrustmentLevel,
    LearningGoal,
    PatientFeedback,
    PreceptorAssessment,
    Reflection,
    SelfAssessment,
    User,
    utcnow,
)
from clerkship.models.base import among

PAGE_OPTIONS = (
    selectinload(AssessmentCycle.student),
    selectinload(AssessmentCycle.preceptor),
    selectinload(AssessmentCycle.requested_by),
    selectinload(AssessmentCycle.competency),
    selectinload(AssessmentCycle.self_assessment).selectinload(SelfAssessment.level),
    selectinload(AssessmentCycle.self_assessment).selectinload(SelfAssessment.goals),
    selectinload(AssessmentCycle.self_assessment).selectinload(SelfAssessment.feedback),
    selectinload(AssessmentCycle.self_assessment).selectinload(SelfAssessment.reflections),
    selectinload(AssessmentCycle.preceptor_assessment).selectinload(PreceptorAssessment.level),
    selectinload(AssessmentCycle.signature),
    selectinload(AssessmentCycle.addenda).selectinload(AssessmentAddendum.author),
    selectinload(AssessmentCycle.addenda).selectinload(AssessmentAddendum.signature),
    selectinload(AssessmentCycle.plan_goals).selectinload(LearningGoal.versions),
)

LIST_OPTIONS = (
    selectinload(AssessmentCycle.student),
    selectinload(AssessmentCycle.preceptor),
    selectinload(AssessmentCycle.competency),
    selectinload(AssessmentCycle.self_assessment),
    selectinload(AssessmentCycle.preceptor_assessment),
)
# Lists that show signed cycles check each signature before saying "signed": what it reads.
SIGNED_LIST_OPTIONS = (
    *LIST_OPTIONS,
    selectinload(AssessmentCycle.self_assessment).selectinload(SelfAssessment.goals),
    selectinload(AssessmentCycle.self_assessment).selectinload(SelfAssessment.reflections),
    selectinload(AssessmentCycle.signature),
)


def cycles_of_student(student_id: int) -> list[AssessmentCycle]:
    return list(
        db.session.scalars(
            select(AssessmentCycle)
            .where(AssessmentCycle.student_id == student_id)
            .options(*SIGNED_LIST_OPTIONS)
            .order_by(AssessmentCycle.status_changed_at.desc())
        )
    )


def cycles_of_preceptor(preceptor_id: int) -> list[AssessmentCycle]:
    return list(
        db.session.scalars(
            select(AssessmentCycle)
            .where(AssessmentCycle.preceptor_id == preceptor_id)
            .options(*SIGNED_LIST_OPTIONS)
            .order_by(AssessmentCycle.status_changed_at.desc())
        )
    )


# --- what waits for whom ---------------------------------------------------------------------
# The one definition of "assessments waiting and on whom". A cycle waits until it is signed;
# each step it waits for falls to one person: the student rates themself, reacts to the two
# ratings, revises a returned cycle; the preceptor rates and signs. An open cycle can wait on
# both (neither rating is in). The dashboard, figures.csv, the portfolio and the digest all
# count with :func:`steps`; a preceptor's digest lists only the students currently paired with
# them (after a pairing ends the cycle still counts as waiting on that preceptor elsewhere).

STUDENT_STEPS = ("self_assess", "react", "revise")
PRECEPTOR_STEPS = ("rate", "sign")


@dataclass
class Waiting:
    cycle: AssessmentCycle
    action: str  # "self_assess" | "react" | "revise" (student) | "rate" | "sign" (preceptor)
    since: datetime

    @property
    def on(self) -> str:
        """ "student" or "preceptor": who has to act."""
        return "student" if self.action in STUDENT_STEPS else "preceptor"

    @property
    def days(self) -> int:
        return max(0, (utcnow() - self.since).days)


@dataclass
class NamedStep:
    """A waiting step as the dashboard names it: what, on whom, for which competency."""

    action: str
    preceptor: str  # the cycle's preceptor's name
    competency: str  # the competency's code

    @property
    def on(self) -> str:
        return "student" if self.action in STUDENT_STEPS else "preceptor"


@dataclass
class WaitingCounts:
    cycles: int = 0  # cycles waiting (an open cycle waiting on both counts once)
    on_student: int = 0
    on_preceptor: int = 0
    oldest: datetime | None = None
    oldest_step: NamedStep | None = None  # the step that has waited longest: who and what


# The dashboard names who a wait is on; for an open cycle waiting on both, the preceptor's
# rating is named (the student's own step is already counted on the student's side).
_NAMED_FIRST = ("rate", "sign", "self_assess", "react", "revise")


def _submitted(entry) -> bool:
    return entry is not None and entry.submitted_at is not None


def steps(cycle: AssessmentCycle) -> list[str]:
    """The steps ``cycle`` waits for (none once signed)."""
    return steps_for(
        cycle.status, _submitted(cycle.self_assessment), _submitted(cycle.preceptor_assessment)
    )


def steps_for(status: CycleStatus, self_assessed: bool, rated: bool) -> list[str]:
    """:func:`steps` from a cycle's status and whether each rating is in (for lists that
    read only those columns)."""
    if status is CycleStatus.OPEN:
        return [
            action
            for action, done in (("self_assess", self_assessed), ("rate", rated))
            if not done
        ]
    return {
        CycleStatus.REVEALED: ["react"],
        CycleStatus.RETURNED: ["revise"],
        CycleStatus.AWAITING_SIGNATURE: ["sign"],
    }.get(status, [])


def waiting_in(cycles) -> list[Waiting]:
    return [
        Waiting(cycle, action, cycle.status_changed_at)
        for cycle in cycles
        for action in steps(cycle)
    ]


def student_queue(student_id: int) -> list[Waiting]:
    """What waits on the student, oldest first. Signed cycles wait on nobody: not read, so the
    home page costs the same after years of assessments."""
    cycles = db.session.scalars(
        select(AssessmentCycle)
        .where(
            AssessmentCycle.student_id == student_id,
            AssessmentCycle.status != CycleStatus.SIGNED,
        )
        .options(*LIST_OPTIONS)
        .order_by(AssessmentCycle.status_changed_at.desc())
    )
    rows = [w for w in waiting_in(cycles) if w.on == "student"]
    return sorted(rows, key=lambda row: row.since)


def preceptor_queue(preceptor_id: int) -> list[Waiting]:
    """Ratings and signatures owed, oldest first; only for students currently assigned."""
    now = today()
    current = (
        select(Assignment.id)
        .where(
            Assignment.preceptor_id == preceptor_id,
            Assignment.student_id == AssessmentCycle.student_id,
            permissions.pairing_active(now),
        )
        .exists()
    )
    cycles = db.session.scalars(
        select(AssessmentCycle)
        .where(
            AssessmentCycle.preceptor_id == preceptor_id,
            AssessmentCycle.status != CycleStatus.SIGNED,
            current,
        )
        .options(*LIST_OPTIONS)
        .order_by(AssessmentCycle.status_changed_at, AssessmentCycle.id)
    )
    return [w for w in waiting_in(cycles) if w.on == "preceptor"]


@functools.cache
def _waiting_summary(
    status: CycleStatus, self_assessed: bool, rated: bool
) -> tuple[int, int, str]:
    """(steps on the student, steps on preceptors, the step named) of a cycle in this state;
    a few states, asked for by thousands of cycles of a cohort."""
    waiting = steps_for(status, self_assessed, rated)
    if not waiting:
        return 0, 0, ""
    return (
        sum(1 for action in waiting if action in STUDENT_STEPS),
        sum(1 for action in waiting if action in PRECEPTOR_STEPS),
        min(waiting, key=_NAMED_FIRST.index),
    )


def waiting_by_student(student_ids: Iterable[int] | Select) -> dict[int, WaitingCounts]:
    """{student id: what waits and on whom} for many students in one query (given a query of
    ids, students with nothing waiting are left out).

    Everything is read as plain columns (a large cohort has thousands waiting), with each
    cycle's preceptor's name and competency's code for naming the oldest."""
    if not isinstance(student_ids, Select):
        student_ids = list(student_ids)
    counts = (
        {} if isinstance(student_ids, Select) else {sid: WaitingCounts() for sid in student_ids}
    )
    cycles = db.session.execute(
        select(
            AssessmentCycle.student_id,
            AssessmentCycle.status,
            AssessmentCycle.status_changed_at,
            SelfAssessment.submitted_at.is_not(None),
            PreceptorAssessment.submitted_at.is_not(None),
            User.name,
            Competency.code,
        )
        .outerjoin(SelfAssessment, SelfAssessment.cycle_id == AssessmentCycle.id)
        .outerjoin(PreceptorAssessment, PreceptorAssessment.cycle_id == AssessmentCycle.id)
        .outerjoin(User, User.id == AssessmentCycle.preceptor_id)
        .outerjoin(Competency, Competency.id == AssessmentCycle.competency_id)
        .where(
            among(AssessmentCycle.student_id, student_ids),
            AssessmentCycle.status != CycleStatus.SIGNED,
        )
        .order_by(AssessmentCycle.id)
    )
    for student_id, status, changed_at, self_assessed, rated, preceptor, competency in cycles:
        on_student, on_preceptor, named = _waiting_summary(
            status, bool(self_assessed), bool(rated)
        )
        if not named:
            continue
        row = counts.get(student_id)
        if row is None:
            row = counts[student_id] = WaitingCounts()
        row.cycles += 1
        row.on_student += on_student
        row.on_preceptor += on_preceptor
        if row.oldest is None or changed_at < row.oldest:
            row.oldest = changed_at
            row.oldest_step = NamedStep(named, preceptor or "", competency or "")
    return counts


def competencies_assessed(
    student_ids: Iterable[int] | Select, as_of: datetime
) -> dict[int, tuple[int, int]]:
    """{student id: (competencies assessed now, as of ``as_of``)} — the one definition of
    "competencies assessed": distinct competencies with both ratings in (by ``as_of``: both
    submitted by then; the dashboard's trend). Given a query of ids, students with none are
    left out; one query for both figures."""
    ids = student_ids if isinstance(student_ids, Select) else list(student_ids)
    both_by_then = (SelfAssessment.submitted_at <= as_of) & (
        PreceptorAssessment.submitted_at <= as_of
    )
    query = (
        select(
            AssessmentCycle.student_id,
            func.count(func.distinct(AssessmentCycle.competency_id)),
            func.count(
                func.distinct(case((both_by_then, AssessmentCycle.competency_id), else_=None))
            ),
        )
        .join(SelfAssessment, SelfAssessment.cycle_id == AssessmentCycle.id)
        .join(PreceptorAssessment, PreceptorAssessment.cycle_id == AssessmentCycle.id)
        .where(
            among(AssessmentCycle.student_id, ids),
            SelfAssessment.submitted_at.is_not(None),
            PreceptorAssessment.submitted_at.is_not(None),
        )
        .group_by(AssessmentCycle.student_id)
    )
    found = {student_id: (now, then) for student_id, now, then in db.session.execute(query)}
    if isinstance(ids, Select):
        return found
    return {student_id: found.get(student_id, (0, 0)) for student_id in ids if student_id}


# --- form choices ----------------------------------------------------------------------------


def level_choices(levels: list[EntrustmentLevel]) -> list[SelectChoice]:
    return [SelectChoice(level.id, level.label) for level in levels]


def competency_choices(competencies) -> list[SelectChoice]:
    return [SelectChoice(c.id, c.label, optgroup=c.framework.name) for c in competencies]


def evidence_choices(student_id: int) -> dict[str, list[SelectChoice]]:
    goals = db.session.scalars(
        select(LearningGoal)
        .where(LearningGoal.student_id == student_id)
        .options(selectinload(LearningGoal.versions))
        .order_by(LearningGoal.id.desc())
    )
    feedback = db.session.scalars(
        select(PatientFeedback)
        .where(PatientFeedback.student_id == student_id)
        .order_by(PatientFeedback.id.desc())
    )
    reflections = db.session.scalars(
        select(Reflection)
        .where(Reflection.student_id == student_id)
        .order_by(Reflection.id.desc())
    )
    return {
        "goals": [SelectChoice(g.id, g.latest.title) for g in goals],
        "feedback": [SelectChoice(f.id, feedback_label(f)) for f in feedback],
        "reflections": [SelectChoice(r.id, r.title) for r in reflections],
    }


def feedback_label(item: PatientFeedback) -> str:
    return _("Patient feedback of %(date)s", date=dates.show_date(item.created_at))


def people_to_assess_with(user: User) -> list[User]:
    """A student picks one of their current preceptors; a preceptor one of their students."""
    from clerkship.models import Role

    now = today()
    active = permissions.pairing_active(now)
    if user.role is Role.STUDENT:
        join, where = Assignment.preceptor_id == User.id, Assignment.student_id == user.id
    else:
        join, where = Assignment.student_id == User.id, Assignment.preceptor_id == user.id
    return list(
        db.session.scalars(
            select(User)
            .join(Assignment, join)
            .where(where, active, User.active.is_(True))
            .distinct()
            .order_by(User.name)
        )
    )


# --- calibration -----------------------------------------------------------------------------


@dataclass
class CalibrationPoint:
    cycle: AssessmentCycle
    on: date
    self_level: EntrustmentLevel
    preceptor_level: EntrustmentLevel

    @property
    def gap(self) -> int:
        return self.self_level.value - self.preceptor_level.value


def assessed_on(cycle: AssessmentCycle) -> date:
    """The date a cycle is charted at: the end of its period, else when both were in."""
    if cycle.period_end:
        return cycle.period_end
    times = [
        entry.submitted_at
        for entry in (cycle.self_assessment, cycle.preceptor_assessment)
        if entry is not None and entry.submitted_at
    ]
    return max(times).date() if times else cycle.created_at.date()


def calibration(
    student_id: int,
) -> list[tuple[Competency, list[CalibrationPoint], list[Competency]]]:
    """Per competency, the revealed cycles (never blind ones) in date order, and the nodes
    above it (top first); competencies in their frameworks' reading order."""
    cycles = db.session.scalars(
        select(AssessmentCycle)
        .where(
            AssessmentCycle.student_id == student_id,
            AssessmentCycle.status != CycleStatus.OPEN,
        )
        .options(
            selectinload(AssessmentCycle.competency),
            selectinload(AssessmentCycle.self_assessment).selectinload(SelfAssessment.level),
            selectinload(AssessmentCycle.preceptor_assessment).selectinload(
                PreceptorAssessment.level
            ),
        )
    )
    by_competency: dict[int, tuple[Competency, list[CalibrationPoint]]] = {}
    for cycle in cycles:
        if not cycle.both_submitted:
            continue
        point = CalibrationPoint(cycle, assessed_on(cycle), *cycle.ratings())
        by_competency.setdefault(cycle.competency_id, (cycle.competency, []))[1].append(point)
    from clerkship.frameworks.queries import places  # the package imports its views

    where = places(competency for competency, _points in by_competency.values())
    rows = sorted(by_competency.values(), key=lambda row: where[row[0].id].order)
    for _competency, points in rows:
        points.sort(key=lambda p: (p.on, p.cycle.id))
    return [(competency, points, where[competency.id].ancestors) for competency, points in rows]
