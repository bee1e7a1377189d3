"""The cohort dashboard: one row per student, and who needs attention, and why.

Every figure comes from a grouped query over the whole cohort, so the number of queries is
the same for 10 students or 150.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from clerkship.assessments import queries as assessment_queries
from clerkship.directory import queries as cohort_students
from clerkship.extensions import db
from clerkship.goals import queries as goal_queries
from clerkship.models import (
    AssessmentCycle,
    Cohort,
    Competency,
    ContributionKind,
    CycleStatus,
    EntrustmentLevel,
    GoalContribution,
    GoalStatus,
    LearningGoal,
    PatientFeedback,
    PreceptorAssessment,
    SelfAssessment,
    User,
    program_framework,
    utcnow,
)

STALE_DAYS = 30  # an open goal with no progress note for this long needs a look
WAITING_DAYS = 14  # an assessment waiting this long for someone
FEEDBACK_DAYS = 60  # no patient feedback for this long
GAP_LEVELS = 2  # self and preceptor this many levels apart

COLUMNS = {
    "name": _l("Student"),
    "agreed": _l("Agreed goals"),
    "stale": _l("Goals without progress 30+ days"),
    "waiting": _l("Assessments waiting"),
    "oldest_wait": _l("Oldest wait (days)"),
    "last_feedback": _l("Last patient feedback"),
    "never_assessed": _l("Competencies never assessed"),
    "gap": _l("Latest self − preceptor gap"),
}


@dataclass
class Row:
    student: User
    agreed: int = 0
    stale: int = 0
    waiting: int = 0
    waiting_on_student: int = 0
    waiting_on_preceptor: int = 0
    oldest_wait: int | None = None
    last_feedback: date | None = None
    never_assessed: int = 0
    gap: int | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def needs_attention(self) -> bool:
        return bool(self.reasons)


def _ids_clause(column, ids):
    return column.in_(ids or [0])


def _days(moment: datetime, now: datetime) -> int:
    return max(0, (now - moment).days)


def cohort_rows(cohort: Cohort, now: datetime | None = None) -> list[Row]:
    now = now or utcnow()
    students = cohort_students.students_of_cohort(cohort)
    ids = [s.id for s in students]
    rows = {s.id: Row(s) for s in students}

    for student_id, count in goal_queries.goals_agreed(ids).items():
        rows[student_id].agreed = count

    last_progress = (
        select(GoalContribution.goal_id, func.max(GoalContribution.created_at).label("at"))
        .where(GoalContribution.kind == ContributionKind.PROGRESS_NOTE)
        .group_by(GoalContribution.goal_id)
        .subquery()
    )
    open_goals = db.session.execute(
        select(LearningGoal.student_id, LearningGoal.created_at, last_progress.c.at)
        .outerjoin(last_progress, last_progress.c.goal_id == LearningGoal.id)
        .where(
            _ids_clause(LearningGoal.student_id, ids),
            LearningGoal.status.in_([GoalStatus.SHARED, GoalStatus.AGREED]),
        )
    )
    stale_before = now - timedelta(days=STALE_DAYS)
    for student_id, created, progressed in open_goals:
        latest = progressed or created
        if latest.tzinfo is None:  # aggregates come back without the column's type
            latest = latest.replace(tzinfo=now.tzinfo)
        if latest < stale_before:
            rows[student_id].stale += 1

    for student_id, waiting in assessment_queries.waiting_by_student(ids).items():
        row = rows[student_id]
        row.waiting = waiting.cycles
        row.waiting_on_student = waiting.on_student
        row.waiting_on_preceptor = waiting.on_preceptor
        row.oldest_wait = _days(waiting.oldest, now) if waiting.oldest else None

    feedback = db.session.execute(
        select(PatientFeedback.student_id, func.max(PatientFeedback.created_at))
        .where(_ids_clause(PatientFeedback.student_id, ids))
        .group_by(PatientFeedback.student_id)
    )
    for student_id, latest in feedback:
        rows[student_id].last_feedback = latest.date() if latest else None

    program_competencies = db.session.scalar(
        select(func.count(Competency.id)).where(
            Competency.framework_id.in_(
                select(program_framework.c.framework_id).where(
                    program_framework.c.program_id == cohort.program_id
                )
            )
        )
    )
    if not program_competencies:
        program_competencies = db.session.scalar(select(func.count(Competency.id)))
    assessed = db.session.execute(
        select(
            AssessmentCycle.student_id, func.count(func.distinct(AssessmentCycle.competency_id))
        )
        .where(
            _ids_clause(AssessmentCycle.student_id, ids),
            AssessmentCycle.status != CycleStatus.OPEN,
        )
        .group_by(AssessmentCycle.student_id)
    )
    assessed_counts = dict(assessed.all())
    for student_id, row in rows.items():
        row.never_assessed = max(0, program_competencies - assessed_counts.get(student_id, 0))

    own_level = aliased(EntrustmentLevel)
    their_level = aliased(EntrustmentLevel)
    ranked = (
        select(
            AssessmentCycle.student_id.label("student_id"),
            (own_level.value - their_level.value).label("gap"),
            func.row_number()
            .over(
                partition_by=AssessmentCycle.student_id,
                order_by=(AssessmentCycle.status_changed_at.desc(), AssessmentCycle.id.desc()),
            )
            .label("rank"),
        )
        .join(SelfAssessment, SelfAssessment.cycle_id == AssessmentCycle.id)
        .join(PreceptorAssessment, PreceptorAssessment.cycle_id == AssessmentCycle.id)
        .join(own_level, own_level.id == SelfAssessment.level_id)
        .join(their_level, their_level.id == PreceptorAssessment.level_id)
        .where(
            _ids_clause(AssessmentCycle.student_id, ids),
            AssessmentCycle.status != CycleStatus.OPEN,
            and_(
                SelfAssessment.submitted_at.is_not(None),
                PreceptorAssessment.submitted_at.is_not(None),
            ),
        )
        .subquery()
    )
    for student_id, gap in db.session.execute(
        select(ranked.c.student_id, ranked.c.gap).where(ranked.c.rank == 1)
    ):
        rows[student_id].gap = gap

    for row in rows.values():
        row.reasons = _reasons(row, now.date())
    return list(rows.values())


def _reasons(row: Row, today: date) -> list[str]:
    reasons = []
    if row.agreed == 0:
        reasons.append(str(_l("no agreed learning goal")))
    if row.stale:
        reasons.append(
            ngettext(
                "%(num)d goal without progress for 30+ days",
                "%(num)d goals without progress for 30+ days",
                row.stale,
            )
        )
    if row.oldest_wait is not None and row.oldest_wait >= WAITING_DAYS:
        reasons.append(str(_l("an assessment waiting %(n)d days", n=row.oldest_wait)))
    if row.last_feedback is None or (today - row.last_feedback).days >= FEEDBACK_DAYS:
        reasons.append(str(_l("no patient feedback for 60+ days")))
    if row.gap is not None and abs(row.gap) >= GAP_LEVELS:
        reasons.append(str(_l("self and preceptor %(n)d levels apart", n=abs(row.gap))))
    return reasons


def sort_rows(rows: list[Row], column: str, descending: bool) -> list[Row]:
    if column not in COLUMNS:
        column = "name"

    def key(row: Row):
        value = row.student.name.lower() if column == "name" else getattr(row, column)
        if column == "gap" and value is not None:
            value = abs(value)
        # Empty values sort last whichever the direction.
        return (value is None, value if value is not None else 0)

    present = [r for r in rows if key(r)[0] is False]
    missing = [r for r in rows if key(r)[0] is True]
    return sorted(present, key=key, reverse=descending) + missing
