"""Data for the directory pages, eager-loaded so a page costs a fixed number of queries."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from clerkship import audit, permissions
from clerkship.clock import today
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


def _visible_goals(viewer: User, student: User) -> list:
    from clerkship.goals import queries as goals

    if viewer.id == student.id or viewer.role is Role.DIRECTOR:
        return goals.goals_of_student(student.id)
    if viewer.role in (Role.PRECEPTOR, Role.PATIENT):
        return [g for g in goals.goals_shared_with(viewer) if g.student_id == student.id]
    return []


def student_overview(student: User, viewer: User) -> dict:
    """What the student's page shows this viewer: only the parts their role needs."""
    now = today()
    enrollments = db.session.scalars(
        select(Enrollment)
        .where(Enrollment.student_id == student.id)
        .options(selectinload(Enrollment.cohort).selectinload(Cohort.program))
    ).all()
    assignments = (
        db.session.scalars(
            select(Assignment)
            .where(Assignment.student_id == student.id)
            .options(selectinload(Assignment.preceptor))
            .order_by(Assignment.discipline, Assignment.start_date)
        ).all()
        if permissions.can_see_pairings(viewer, student)
        else []
    )
    panel = (
        db.session.scalars(
            select(PanelEntry)
            .where(PanelEntry.student_id == student.id)
            .options(selectinload(PanelEntry.patient))
            .order_by(PanelEntry.consent_date)
        ).all()
        if permissions.can_see_panel(viewer, student)
        else []
    )
    return {
        "enrollments": enrollments,
        "assignments": assignments,
        "panel": [p for p in panel if p.is_active_on(now)],
        "today": now,
        "goals": _visible_goals(viewer, student),
        "cycles": _visible_cycles(viewer, student),
    }


def _visible_cycles(viewer: User, student: User) -> list:
    """Assessments: the student's own, a preceptor's own cycles, all for the director."""
    from clerkship.assessments import queries as assessments

    if viewer.role in (Role.PATIENT, Role.ADMIN):
        return []
    cycles = assessments.cycles_of_student(student.id)
    if viewer.role is Role.PRECEPTOR:
        return [c for c in cycles if c.preceptor_id == viewer.id]
    return cycles


def cohort_roster(cohort: Cohort) -> list[dict]:
    """One row per enrolled student: name, active preceptors and panel size."""
    now = today()
    enrollments = db.session.scalars(
        select(Enrollment)
        .where(Enrollment.cohort_id == cohort.id)
        .options(selectinload(Enrollment.student))
    ).all()
    student_ids = [e.student_id for e in enrollments] or [0]
    preceptors = dict(
        db.session.execute(
            select(Assignment.student_id, func.count())
            .where(
                Assignment.student_id.in_(student_ids),
                permissions.pairing_active(now),
            )
            .group_by(Assignment.student_id)
        ).all()
    )
    panel = dict(
        db.session.execute(
            select(PanelEntry.student_id, func.count())
            .where(
                PanelEntry.student_id.in_(student_ids),
                permissions.panel_active(now),
            )
            .group_by(PanelEntry.student_id)
        ).all()
    )
    rows = [
        {
            "enrollment": e,
            "student": e.student,
            "preceptors": preceptors.get(e.student_id, 0),
            "panel": panel.get(e.student_id, 0),
        }
        for e in enrollments
    ]
    return sorted(rows, key=lambda row: row["student"].name)


def frameworks_overview() -> dict:
    return {
        "frameworks": db.session.scalars(
            select(Framework)
            .options(selectinload(Framework.competencies))
            .order_by(Framework.name)
        ).all(),
        "scales": db.session.scalars(
            select(EntrustmentScale)
            .options(selectinload(EntrustmentScale.levels))
            .order_by(EntrustmentScale.name)
        ).all(),
        "instruments": db.session.scalars(
            select(FeedbackInstrument)
            .options(selectinload(FeedbackInstrument.items))
            .order_by(FeedbackInstrument.code, FeedbackInstrument.version)
        ).all(),
    }


def all_instruments() -> list[FeedbackInstrument]:
    return list(
        db.session.scalars(
            select(FeedbackInstrument)
            .options(selectinload(FeedbackInstrument.items))
            .order_by(FeedbackInstrument.code, FeedbackInstrument.version.desc())
        )
    )


def use_instrument(actor: User, program: Program, instrument: FeedbackInstrument) -> None:
    before = program.feedback_instrument_id
    program.feedback_instrument = instrument
    db.session.flush()
    audit.record(
        actor,
        "program.instrument_changed",
        program,
        before={"instrument": before},
        after={"instrument": instrument.id},
    )


def all_scales() -> list:
    from clerkship.models import EntrustmentScale

    return list(db.session.scalars(select(EntrustmentScale).order_by(EntrustmentScale.name)))


def all_frameworks() -> list:
    from clerkship.models import Framework

    return list(db.session.scalars(select(Framework).order_by(Framework.name)))
