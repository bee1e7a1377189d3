"""A cohort's key figures for promotion committees, one row per student (CSV)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from clerkship.extensions import db
from clerkship.models import (
    AssessmentCycle,
    Cohort,
    ContributionKind,
    CycleStatus,
    Enrollment,
    GoalContribution,
    GoalStatus,
    LearningGoal,
    PatientFeedback,
    PreceptorAssessment,
    User,
)

HEADER = [
    "student",
    "email",
    "goals_agreed",
    "goals_achieved",
    "assessments_signed",
    "latest_preceptor_level_per_competency",
    "patient_responses",
]


def cohort_rows(cohort: Cohort) -> list[list]:
    """Constant number of queries whatever the cohort size."""
    students = db.session.scalars(
        select(User)
        .join(Enrollment, Enrollment.student_id == User.id)
        .where(Enrollment.cohort_id == cohort.id)
        .order_by(User.name, User.id)
    ).all()
    ids = [s.id for s in students] or [0]
    agreed = dict(
        db.session.execute(
            select(LearningGoal.student_id, func.count(func.distinct(LearningGoal.id)))
            .join(GoalContribution, GoalContribution.goal_id == LearningGoal.id)
            .where(
                LearningGoal.student_id.in_(ids),
                GoalContribution.kind == ContributionKind.AGREEMENT,
            )
            .group_by(LearningGoal.student_id)
        ).all()
    )
    achieved = dict(
        db.session.execute(
            select(LearningGoal.student_id, func.count())
            .where(LearningGoal.student_id.in_(ids), LearningGoal.status == GoalStatus.ACHIEVED)
            .group_by(LearningGoal.student_id)
        ).all()
    )
    signed = db.session.scalars(
        select(AssessmentCycle)
        .where(AssessmentCycle.student_id.in_(ids), AssessmentCycle.status == CycleStatus.SIGNED)
        .options(
            selectinload(AssessmentCycle.competency),
            selectinload(AssessmentCycle.preceptor_assessment).selectinload(
                PreceptorAssessment.level
            ),
        )
        .order_by(AssessmentCycle.status_changed_at)
    ).all()
    counts: dict[int, int] = defaultdict(int)
    latest: dict[int, dict[str, str]] = defaultdict(dict)
    for cycle in signed:
        counts[cycle.student_id] += 1
        latest[cycle.student_id][cycle.competency.code] = cycle.preceptor_assessment.level.label
    responses = dict(
        db.session.execute(
            select(PatientFeedback.student_id, func.count())
            .where(PatientFeedback.student_id.in_(ids))
            .group_by(PatientFeedback.student_id)
        ).all()
    )
    rows = [HEADER]
    for student in students:
        levels = "; ".join(
            f"{code}: {label}" for code, label in sorted(latest[student.id].items())
        )
        rows.append(
            [
                student.name,
                student.email or "",
                agreed.get(student.id, 0),
                achieved.get(student.id, 0),
                counts[student.id],
                levels,
                responses.get(student.id, 0),
            ]
        )
    return rows
