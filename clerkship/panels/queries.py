"""Panels, invitations and patient feedback, eager-loaded for their pages."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clerkship.extensions import db
from clerkship.models import (
    FeedbackAnswer,
    FeedbackInstrument,
    GoalShare,
    GoalStatus,
    LearningGoal,
    PanelEntry,
    PatientFeedback,
    PatientInvitation,
    User,
)


def panel_of(student_id: int) -> list[PanelEntry]:
    return list(
        db.session.scalars(
            select(PanelEntry)
            .where(PanelEntry.student_id == student_id)
            .options(selectinload(PanelEntry.patient), selectinload(PanelEntry.cohort))
            .order_by(PanelEntry.end_date.is_not(None), PanelEntry.id)
        )
    )


def invitations_of(student_id: int) -> dict[int, list[PatientInvitation]]:
    """Per patient, their invitations from this student, newest first."""
    rows = db.session.scalars(
        select(PatientInvitation)
        .where(PatientInvitation.student_id == student_id)
        .options(selectinload(PatientInvitation.goal).selectinload(LearningGoal.versions))
        .order_by(PatientInvitation.created_at.desc())
    )
    by_patient: dict[int, list[PatientInvitation]] = defaultdict(list)
    for invitation in rows:
        by_patient[invitation.patient_id].append(invitation)
    return by_patient


def goals_shared_with_patients(student_id: int) -> dict[int, list[LearningGoal]]:
    rows = db.session.execute(
        select(GoalShare.user_id, LearningGoal)
        .join(LearningGoal, LearningGoal.id == GoalShare.goal_id)
        .where(
            LearningGoal.student_id == student_id,
            LearningGoal.status.not_in(
                [GoalStatus.ACHIEVED, GoalStatus.REVISED, GoalStatus.DROPPED]
            ),
        )
        .options(selectinload(LearningGoal.versions))
    ).all()
    shared: dict[int, list[LearningGoal]] = defaultdict(list)
    for user_id, goal in rows:
        shared[user_id].append(goal)
    return shared


@dataclass
class Response:
    feedback: PatientFeedback
    shown_as: str | None  # the patient's name, or None for "a continuity patient"
    rows: list[tuple[str, str | None]]  # (prompt, answer label or None for "does not apply")
    mean: float | None


@dataclass
class Trend:
    patient_name: str
    points: list[tuple[date, float]]


# A response with everything a page or the portfolio shows of it.
FEEDBACK_OPTIONS = (
    selectinload(PatientFeedback.patient),
    selectinload(PatientFeedback.instrument).selectinload(FeedbackInstrument.items),
    selectinload(PatientFeedback.answers).selectinload(FeedbackAnswer.item),
)


def feedback_of(student_id: int, language: str = "en") -> tuple[list[Response], list[Trend]]:
    items = db.session.scalars(
        select(PatientFeedback)
        .where(PatientFeedback.student_id == student_id)
        .options(*FEEDBACK_OPTIONS)
        .order_by(PatientFeedback.created_at.desc())
    ).all()
    responses = []
    trends: dict[int, Trend] = {}
    for feedback in items:
        instrument = feedback.instrument
        labels = {o["value"]: instrument.text(o["label"], language) for o in instrument.scale}
        by_item = {answer.item_id: answer for answer in feedback.answers}
        rows = [
            (instrument.text(item.prompt, language), labels.get(by_item[item.id].value))
            for item in instrument.items
            if item.id in by_item
        ]
        values = [a.value for a in feedback.answers if a.value is not None]
        top = max(labels) if labels else 5
        # A 0–100 score so instruments with different scales can share a trend line.
        mean = round(100 * (sum(values) / len(values) - 1) / (top - 1)) if values else None
        shown = feedback.shown_name
        responses.append(Response(feedback, shown, rows, mean))
        if shown is not None and mean is not None:
            trend = trends.setdefault(feedback.patient_id, Trend(shown, []))
            trend.points.append((feedback.created_at.date(), mean))
    for trend in trends.values():
        trend.points.sort()
    return responses, sorted(trends.values(), key=lambda t: t.patient_name)


def patient_user(patient_id: int) -> User | None:
    return db.session.get(User, patient_id)
