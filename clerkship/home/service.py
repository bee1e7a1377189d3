"""What each role's home page lists. One query function per role, eager-loaded."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from clerkship import permissions
from clerkship.clock import today
from clerkship.directory import queries as cohort_students
from clerkship.extensions import db
from clerkship.models import (
    Assignment,
    Cohort,
    Enrollment,
    EntrustmentScale,
    FeedbackInstrument,
    Framework,
    PanelEntry,
    Program,
    Role,
    User,
)

TRIAGE_LIMIT = 8  # students listed per cohort on the home page; the dashboard has the rest


def _current(model):
    return permissions.pairing_active() if model is Assignment else permissions.panel_active()


def student_home(user: User) -> dict:
    enrollments = db.session.scalars(
        select(Enrollment)
        .where(Enrollment.student_id == user.id)
        .options(selectinload(Enrollment.cohort).selectinload(Cohort.program))
    ).all()
    assignments = db.session.scalars(
        select(Assignment)
        .where(Assignment.student_id == user.id, _current(Assignment))
        .options(selectinload(Assignment.preceptor))
        .order_by(Assignment.discipline)
    ).all()
    panel = db.session.scalars(
        select(PanelEntry)
        .where(PanelEntry.student_id == user.id, _current(PanelEntry))
        .options(selectinload(PanelEntry.patient))
        .order_by(PanelEntry.consent_date)
    ).all()
    from clerkship.assessments import queries as assessments
    from clerkship.goals import queries as goals

    own_goals = goals.goals_of_student(user.id)
    return {
        "assessments_waiting": assessments.student_queue(user.id),
        "enrollments": enrollments,
        "assignments": assignments,
        "panel": panel,
        "goal_groups": goals.by_status(own_goals),
        "goals_awaiting": goals.awaiting_student(own_goals),
    }


def preceptor_home(user: User) -> dict:
    assignments = db.session.scalars(
        select(Assignment)
        .where(Assignment.preceptor_id == user.id)
        .options(selectinload(Assignment.student), selectinload(Assignment.cohort))
        .order_by(Assignment.start_date.desc())
    ).all()
    now = today()
    current = [a for a in assignments if a.is_active_on(now)]
    past = [a for a in assignments if a.end_date is not None and a.end_date < now]
    upcoming = [a for a in assignments if a.start_date > now]
    from clerkship.assessments import queries as assessments
    from clerkship.goals import queries as goals

    shared = goals.goals_shared_with(user)
    return {
        "assessments_waiting": assessments.preceptor_queue(user.id),
        "current": current,
        "past": past,
        "upcoming": upcoming,
        "goals_awaiting": goals.awaiting_agreement(
            [g for g in shared if any(a.student_id == g.student_id for a in current)], user
        ),
    }


def patient_home(user: User) -> dict:
    panel = db.session.scalars(
        select(PanelEntry)
        .where(PanelEntry.patient_id == user.id, _current(PanelEntry))
        .options(selectinload(PanelEntry.student))
    ).all()
    from clerkship.goals import queries as goals
    from clerkship.goals.service import CLOSED

    shared = goals.goals_shared_with(user)
    # Only goals still open wait for the patient; closed ones are listed apart, by outcome.
    return {
        "panel": panel,
        "shared_goals": [goal for goal in shared if goal.status not in CLOSED],
        "closed_goals": [goal for goal in shared if goal.status in CLOSED],
    }


def director_home(user: User) -> dict:
    programs = db.session.scalars(
        select(Program)
        .where(Program.id.in_(user.directed_program_ids or {0}))
        .options(selectinload(Program.cohorts))
        .order_by(Program.name)
    ).all()
    counts = cohort_students.student_counts(c.id for p in programs for c in p.cohorts)
    from clerkship.directory import dashboard
    from clerkship.portfolios import service as exports

    # Who needs attention comes from the dashboard's own figures (one definition), for the
    # cohorts in their year now; a finished year's cohort is read on its dashboard.
    now = today()
    triage = [
        (cohort, dashboard.cohort_board(cohort).flagged)
        for program in programs
        for cohort in program.cohorts
        if cohort.start_date <= now <= cohort.end_date
    ]
    return {
        "programs": programs,
        "student_counts": counts,
        "exports": exports.recent_jobs(user),
        "triage": [(cohort, rows) for cohort, rows in triage if rows],
        "triage_limit": TRIAGE_LIMIT,
    }


def admin_home(user: User) -> dict:
    role_counts = dict(
        db.session.execute(select(User.role, func.count()).group_by(User.role)).all()
    )
    return {
        "role_counts": {role: role_counts.get(role, 0) for role in Role},
        "programs": db.session.scalars(select(Program).order_by(Program.name)).all(),
        "frameworks": db.session.scalars(select(Framework).order_by(Framework.name)).all(),
        "scales": db.session.scalars(
            select(EntrustmentScale).order_by(EntrustmentScale.name)
        ).all(),
        "instruments": db.session.scalars(
            select(FeedbackInstrument).order_by(
                FeedbackInstrument.code, FeedbackInstrument.version
            )
        ).all(),
    }


_BY_ROLE = {
    Role.STUDENT: student_home,
    Role.PRECEPTOR: preceptor_home,
    Role.PATIENT: patient_home,
    Role.DIRECTOR: director_home,
    Role.ADMIN: admin_home,
}


def home_for(user: User) -> dict:
    return _BY_ROLE[user.role](user)
