"""A cohort's key figures for promotion committees, one row per student (CSV).

The cohort's students, goals agreed and assessments waiting come from their owning queries
(directory, goals and assessments ``queries.py``), so these figures match the dashboard's.
Every signature behind a figure is checked first (the same check the pages make):
``signatures_invalid`` counts the student's co-signatures, addenda and goal agreements that
do not check out, and they are left out of ``goals_agreed`` and ``assessments_signed``."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from clerkship.assessments import queries as assessment_queries
from clerkship.assessments import service as assessments
from clerkship.directory import queries as cohort_students
from clerkship.extensions import db
from clerkship.goals import queries as goal_queries
from clerkship.models import (
    AssessmentAddendum,
    AssessmentCycle,
    Cohort,
    CycleStatus,
    GoalStatus,
    LearningGoal,
    PatientFeedback,
    PreceptorAssessment,
    SelfAssessment,
)

HEADER = [
    "student",
    "email",
    "goals_agreed",
    "goals_achieved",
    "assessments_signed",
    "signatures_invalid",
    "assessments_waiting",
    "waiting_on_student",
    "waiting_on_preceptor",
    "latest_preceptor_level_per_competency",
    "patient_responses",
]


def cohort_rows(cohort: Cohort) -> list[list]:
    """Constant number of queries whatever the cohort size."""
    students = cohort_students.students_of_cohort(cohort)
    ids = [s.id for s in students] or [0]
    agreements = goal_queries.agreements_checked(ids)
    waiting = assessment_queries.waiting_by_student(ids)
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
            # What the signature check reads, loaded up front (constant queries).
            selectinload(AssessmentCycle.signature),
            selectinload(AssessmentCycle.self_assessment).selectinload(SelfAssessment.goals),
            selectinload(AssessmentCycle.self_assessment).selectinload(SelfAssessment.reflections),
            selectinload(AssessmentCycle.addenda).selectinload(AssessmentAddendum.signature),
        )
        .order_by(AssessmentCycle.status_changed_at)
    ).all()
    counts: dict[int, int] = defaultdict(int)
    invalid: dict[int, int] = defaultdict(int)
    latest: dict[int, dict[str, str]] = defaultdict(dict)
    for student_id, found in agreements.items():
        invalid[student_id] += found.invalid
    for cycle in signed:
        # Counted as signed only once the signature checks out; never a silent pass. An
        # addendum that does not check out is counted too (its assessment stays signed).
        invalid[cycle.student_id] += sum(
            not assessments.addendum_valid(a, cycle) for a in cycle.addenda
        )
        if not assessments.signature_valid(cycle):
            invalid[cycle.student_id] += 1
            continue
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
                len(agreements[student.id].goals) if student.id in agreements else 0,
                achieved.get(student.id, 0),
                counts[student.id],
                invalid[student.id],
                waiting[student.id].cycles,
                waiting[student.id].on_student,
                waiting[student.id].on_preceptor,
                levels,
                responses.get(student.id, 0),
            ]
        )
    return rows
