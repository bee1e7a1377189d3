"""Demo patient feedback: invitations in every state and answers across the year, some in
Spanish, most improving over the months; a few patients chose to show their name."""

from __future__ import annotations

import random
import secrets
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clerkship import clock
from clerkship.demo import profiles
from clerkship.extensions import db
from clerkship.models import (
    Cohort,
    FeedbackAnswer,
    FeedbackInstrument,
    GoalShare,
    InvitationPurpose,
    LearningGoal,
    PanelEntry,
    PatientFeedback,
    PatientInvitation,
    User,
)
from clerkship.panels.service import hash_token

HOPES = {
    "en": [
        "To keep explaining things slowly, like last time.",
        "To ask about my family too, not only my sugar.",
        "To be as kind with the next patients.",
    ],
    "es": [
        "Que siga explicando despacio, como la última vez.",
        "Que pregunte también por mi familia.",
        "Que sea igual de amable con los demás pacientes.",
    ],
}
ELSE = {
    "en": ["She remembered what I told her last month.", "", "Thank you for calling me back."],
    "es": ["Se acordó de lo que le conté el mes pasado.", "", "Gracias por llamarme."],
}


def _invitation(student, patient, purpose, created: date, *, goal=None, days=14, **state):
    invitation = PatientInvitation(
        # Demo links nobody can open: a fresh random token, of which only the hash is kept.
        token_hash=hash_token(secrets.token_urlsafe(24)),
        patient_id=patient.id,
        student_id=student.id,
        purpose=purpose,
        goal_id=goal.id if goal else None,
        created_by_id=student.id,
        created_at=clock.at(created, 9),
        expires_at=clock.at(created + timedelta(days=days), 9),
        **state,
    )
    db.session.add(invitation)
    return invitation


def add_feedback(cohort: Cohort, students: list[User], today: date, seed: int) -> None:
    instrument = cohort.program.feedback_instrument
    if instrument is None:
        return
    instrument = db.session.scalar(
        select(FeedbackInstrument)
        .where(FeedbackInstrument.id == instrument.id)
        .options(selectinload(FeedbackInstrument.items))
    )
    ids = [s.id for s in students]
    invited = set(
        db.session.scalars(
            select(PatientInvitation.student_id).where(PatientInvitation.student_id.in_(ids))
        )
    )
    panels: dict[int, list[User]] = {}
    for entry in db.session.scalars(
        select(PanelEntry)
        .where(PanelEntry.student_id.in_(ids), PanelEntry.consent_date.is_not(None))
        .options(selectinload(PanelEntry.patient))
        .order_by(PanelEntry.id)
    ):
        panels.setdefault(entry.student_id, []).append(entry.patient)
    shared = {
        (goal_id, user_id): goal
        for goal_id, user_id, goal in db.session.execute(
            select(GoalShare.goal_id, GoalShare.user_id, LearningGoal)
            .join(LearningGoal, LearningGoal.id == GoalShare.goal_id)
            .where(LearningGoal.student_id.in_(ids), LearningGoal.closed_at.is_(None))
        )
    }
    rng = random.Random(seed + 5)
    span = max((today - cohort.start_date).days, 40)
    for index, student in enumerate(students):
        patients = panels.get(student.id, [])
        # A quiet panel: the student last heard from a patient over two months ago.
        last_day = today
        if profiles.profile(index) == profiles.QUIET_PATIENTS:
            last_day = today - timedelta(days=70)
        if student.id in invited or len(patients) < 4:
            continue
        for number, patient in enumerate(patients[:3]):
            # Two or three answers per patient over the year, improving for most.
            start = rng.randint(2, 3)
            for k in range(rng.randint(2, 3)):
                day = cohort.start_date + timedelta(days=(span * (k + 1 + number)) // 6)
                if day >= last_day:
                    break
                _response(student, patient, instrument, day, start + k, number == 0, rng)
        fourth, fifth = patients[3], patients[-1]
        recent = today - timedelta(days=3)
        _invitation(student, fourth, InvitationPurpose.FEEDBACK, recent)  # waiting
        _invitation(student, fourth, InvitationPurpose.FEEDBACK, today - timedelta(days=40))
        _invitation(
            student, fifth, InvitationPurpose.FEEDBACK, recent, revoked_at=clock.at(recent, 15)
        )
        _invitation(
            student,
            fifth,
            InvitationPurpose.FEEDBACK,
            today - timedelta(days=6),
            used_at=clock.at(today - timedelta(days=5), 11),
            withdrawn_at=clock.at(today - timedelta(days=4), 11),
        )
        for (_goal_id, user_id), goal in shared.items():
            if user_id in {p.id for p in patients} and goal.student_id == student.id:
                _invitation(
                    student,
                    db.session.get(User, user_id),
                    InvitationPurpose.GOAL_INPUT,
                    recent,
                    goal=goal,
                )
                break


def _response(student, patient, instrument, day, level, named, rng) -> None:
    language = patient.preferred_language if patient.preferred_language in HOPES else "en"
    invitation = _invitation(
        student,
        patient,
        InvitationPurpose.FEEDBACK,
        day,
        used_at=clock.at(day + timedelta(days=1), 11),
    )
    db.session.flush()
    answers = []
    for item in instrument.items:
        if rng.random() < 0.1:
            answers.append(FeedbackAnswer(item_id=item.id, value=None))  # does not apply
        else:
            value = max(1, min(5, level + rng.choice([0, 0, 1, -1])))
            answers.append(FeedbackAnswer(item_id=item.id, value=value))
    db.session.add(
        PatientFeedback(
            instrument_id=instrument.id,
            patient_id=patient.id,
            student_id=student.id,
            invitation_id=invitation.id,
            language=language,
            show_name=named,
            allow_quotes=named or rng.random() < 0.5,
            hope_next=rng.choice(HOPES[language]),
            anything_else=rng.choice(ELSE[language]),
            created_at=clock.at(day + timedelta(days=1), 11),
            answers=answers,
        )
    )


REFLECTION_TEXTS = [
    (
        "The family meeting I almost avoided",
        "I wanted my preceptor to lead. She asked me to start; the family talked to me more "
        "than I expected. Next time I will prepare the first sentence and then listen.",
        True,
    ),
    (
        "Night on call",
        "I was slow to call for help with a patient whose breathing changed. Nothing bad "
        "happened, but I now say out loud what worries me as soon as I notice it.",
        False,
    ),
]


def add_reflections(students: list[User], today: date) -> None:
    from clerkship.models import Reflection

    written = set(
        db.session.scalars(
            select(Reflection.student_id).where(
                Reflection.student_id.in_([s.id for s in students])
            )
        )
    )
    for index, student in enumerate(students):
        if student.id in written:
            continue
        for number, (title, body, include) in enumerate(REFLECTION_TEXTS):
            db.session.add(
                Reflection(
                    student_id=student.id,
                    title=title,
                    body=body,
                    in_portfolio=include,
                    created_at=clock.at(today - timedelta(days=20 + 30 * number + index % 7), 11),
                )
            )
