"""Demo learning goals: every stage of the lifecycle, with all three voices, over the year."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clerkship import clock, permissions
from clerkship.demo import profiles
from clerkship.extensions import db
from clerkship.goals import service
from clerkship.models import (
    Assignment,
    Cohort,
    Competency,
    ContributionKind,
    GoalStatus,
    LearningGoal,
    PanelEntry,
    User,
)

GOALS = [
    (
        "Explain a new medicine so the patient understands it",
        "Explain one new medicine per clinic day in plain words",
        "The patient can say back what it is for and how to take it",
        "Watch my preceptor twice; use teach-back every time",
        ["EPA4", "ICS"],
        "Use teach-back and note whether it worked",
    ),
    (
        "Present a new patient in under three minutes",
        "Give a focused oral presentation with an assessment and plan",
        "My preceptor times me and rates the structure",
        "Prepare a one-line summary before walking in",
        ["EPA6"],
        "Start with the one-line summary, then the plan",
    ),
    (
        "Take a history that includes what matters to the patient",
        "Ask every continuity patient what matters most to them this visit",
        "Patients say they felt heard; my notes record their priorities",
        "Open with 'What matters most to you today?'",
        ["EPA1", "PC"],
        "Ask what worries them before asking about symptoms",
    ),
    (
        "Lead a family meeting about a new diagnosis",
        "Lead one family meeting with my preceptor present",
        "Family reports they understood the plan; preceptor debrief",
        "Observe two meetings first; plan the agenda with the nurse",
        ["EPA9", "ICS", "PROF"],
        "Plan who speaks first with the nurse",
    ),
    (
        "Write notes others can act on the same day",
        "Finish clinic notes before leaving, with a clear plan",
        "My preceptor reviews five notes a month",
        "Use a template for assessment and plan",
        ["EPA5"],
        "Put the plan first so the next clinician sees it",
    ),
    (
        "Recognise a patient who is getting worse",
        "Spot and escalate warning signs in clinic and on call",
        "Case discussions with my preceptor; one simulated scenario",
        "Review early-warning criteria; practise calling for help",
        ["EPA10"],
        "Practise the call for help out loud",
    ),
]

REFLECTIONS = [
    "Teach-back felt awkward at first; now patients correct me early, which saves time.",
    "Having the plan first changed how my preceptor listened to the rest.",
    "I learned that my patients' priorities are often not their main symptom.",
]


def _backdate(goal: LearningGoal, start: date, today: date, rng: random.Random) -> None:
    """Spread a goal's history over the months since ``start`` (services stamp 'now')."""
    moments = sorted(
        [*goal.versions, *goal.contributions], key=lambda o: (o.created_at, o.id or 0)
    )
    day = start
    span = max((today - start).days, 1)
    step = max(span // (len(moments) + 2), 1)
    goal.created_at = clock.at(day, 14)
    for item in moments:
        day = min(day + timedelta(days=rng.randint(max(step // 2, 1), step)), today)
        item.created_at = clock.at(day, 14)
        signature = getattr(item, "signature", None)
        if signature is not None:
            signature.signed_at = clock.at(day, 14)
    if goal.closed_at is not None:
        goal.closed_at = clock.at(min(day + timedelta(days=3), today), 14)
    goal.updated_at = clock.at(day, 14)


def _people_for(students: list[User], today: date):
    ids = [s.id for s in students]
    assignments = db.session.scalars(
        select(Assignment)
        .where(
            Assignment.student_id.in_(ids),
            permissions.pairing_active(today),
        )
        .options(selectinload(Assignment.preceptor))
        .order_by(Assignment.id)
    )
    preceptors: dict[int, list[User]] = {}
    for a in assignments:
        preceptors.setdefault(a.student_id, []).append(a.preceptor)
    entries = db.session.scalars(
        select(PanelEntry)
        .where(PanelEntry.student_id.in_(ids), PanelEntry.consent_date <= today)
        .options(selectinload(PanelEntry.patient))
        .order_by(PanelEntry.id)
    )
    patients: dict[int, list[User]] = {}
    for entry in entries:
        patients.setdefault(entry.student_id, []).append(entry.patient)
    return preceptors, patients


def add_goals(cohort: Cohort, students: list[User], today: date, seed: int) -> None:
    with_goals = set(
        db.session.scalars(
            select(LearningGoal.student_id).where(
                LearningGoal.student_id.in_([s.id for s in students])
            )
        )
    )
    competencies = {c.code: c for c in db.session.scalars(select(Competency))}
    preceptors, patients = _people_for(students, today)
    rng = random.Random(seed)
    future = today + timedelta(days=120)
    for index, student in enumerate(students):
        mentors, panel = preceptors.get(student.id), patients.get(student.id)
        if student.id in with_goals or not mentors or not panel:
            continue
        preceptor, patient = mentors[0], panel[0]
        kind = profiles.profile(index)
        stages = ["achieved", "agreed", "shared", "draft", "revised" if index % 2 else "dropped"]
        if kind == profiles.NO_AGREED_GOAL:
            stages = ["shared", "draft", "dropped"]
        plan = [GOALS[(index + k) % len(GOALS)] for k in range(len(stages))]
        for stage, (title, specific, measure, actions, codes, suggestion) in zip(
            stages, plan, strict=True
        ):
            goal = service.create_goal(
                student,
                service.GoalText(title, specific, measure, actions, future),
                [competencies[c] for c in codes if c in competencies],
            )
            if stage != "draft":
                _work_on(goal, stage, student, preceptor, patient, suggestion, rng)
            start = cohort.start_date + timedelta(days=rng.randint(5, 40))
            if stage in ("agreed", "shared") and kind != profiles.STALE_GOALS:
                # An open goal that is moving: its history lies in the last few weeks.
                start = max(start, today - timedelta(days=rng.randint(12, 24)))
            _backdate(goal, min(start, today), today, rng)


def _work_on(goal, stage, student, preceptor, patient, suggestion, rng) -> None:
    service.share_goal(student, goal, [preceptor, patient])
    author = patient if stage in ("achieved", "revised") else preceptor
    proposal = service.suggest(author, goal, "actions", suggestion, "From our last visit")
    if stage == "shared":
        service.add_note(patient, goal, ContributionKind.COMMENT, "I would like this too.")
        service.endorse(patient, goal)
        return
    service.accept_suggestion(student, goal, proposal)
    service.agree(preceptor, goal)
    service.endorse(patient, goal, "This matters to me.")
    service.add_note(student, goal, ContributionKind.PROGRESS_NOTE, "Tried it twice this month.")
    service.add_note(
        preceptor, goal, ContributionKind.PROGRESS_NOTE, "Observed once: clear and kind."
    )
    if stage == "agreed":
        return
    outcome = {
        "achieved": GoalStatus.ACHIEVED,
        "revised": GoalStatus.REVISED,
        "dropped": GoalStatus.DROPPED,
    }[stage]
    service.close_goal(student, goal, outcome, rng.choice(REFLECTIONS))
