"""Demo assessment cycles: every step of workflow 2 across the year, signed records with
addenda, and self/preceptor gaps that narrow over the months for most students."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from clerkship import clock
from clerkship.assessments import service
from clerkship.demo import profiles
from clerkship.demo.goals import _people_for
from clerkship.extensions import db
from clerkship.models import (
    AssessmentCycle,
    Cohort,
    Competency,
    EntrustmentScale,
    Framework,
    SignatureMeaning,
    User,
)

# Competencies revisited over the year, so each has a line on the calibration chart.
CODES = ["EPA1", "EPA6", "EPA4", "EPA1", "EPA6", "EPA4", "EPA1"]
SIGNED_CYCLES = 4  # the earliest cycles are signed; the latest ones are still moving

# How the last cycles of each student stand today; rotating gives every state in the demo.
ENDINGS = [
    ("awaiting_signature", "open_none"),
    ("returned", "open_self"),
    ("awaiting_signature", "revealed"),
    ("revealed", "open_preceptor"),
    ("awaiting_signature", "open_self"),
    ("returned", "open_none"),
]

EVIDENCE = [
    "Three clinic sessions this month, and the feedback from my continuity patients.",
    "Home visits with my preceptor; I led the history twice.",
    "Two observed encounters and my notes from the ward round.",
]
WENT_WELL = [
    "Warm, organised history; you checked what mattered to the patient.",
    "Your presentations are getting shorter and clearer.",
    "You explained the plan in plain words and checked understanding.",
]
WORK_ON = [
    "Commit to an assessment before you present the plan.",
    "Summarise at the end of each visit so the family hears the plan once more.",
    "Anticipate what could go wrong and say what you would do.",
]
REACTIONS = [
    "I thought I was further along; hearing the specifics helps.",
    "Fair. I had not noticed I skip the summary when clinic runs late.",
    "We agree more than last time, which is encouraging.",
]
PLANS = [
    "Close every visit with a one-line summary and check understanding.",
    "Write my assessment before presenting, then compare with my preceptor's.",
    "Ask my preceptor to observe one full encounter a fortnight.",
]


def _levels(narrowing: bool, n: int, rng: random.Random) -> list[tuple[int, int]]:
    """(self, preceptor) per cycle: preceptor ratings rise; for most, the gap closes."""
    pairs = []
    start_gap = rng.choice([2, 2, 1, -1])
    for k in range(n):
        preceptor = min(4, 2 + (k * 3) // n)
        gap = round(start_gap * (1 - k / max(n - 1, 1))) if narrowing else start_gap
        pairs.append((max(1, min(5, preceptor + gap)), preceptor))
    return pairs


def add_assessments(cohort: Cohort, students: list[User], today: date, seed: int) -> None:
    ids = [s.id for s in students]
    with_cycles = set(
        db.session.scalars(
            select(AssessmentCycle.student_id).where(AssessmentCycle.student_id.in_(ids))
        )
    )
    scale = cohort.program.scale or db.session.scalar(select(EntrustmentScale).limit(1))
    if scale is None:
        return
    levels = {level.value: level for level in scale.levels}
    competencies = {
        c.code: c
        for c in db.session.scalars(
            select(Competency).join(Framework).where(Framework.code == "aamc-core-epas")
        )
    }
    preceptors, _patients = _people_for(students, today)
    rng = random.Random(seed + 4)
    start = cohort.start_date + timedelta(days=10)
    span = max((today - start).days, len(CODES))
    for index, student in enumerate(students):
        mentors = preceptors.get(student.id)
        if student.id in with_cycles or not mentors:
            continue
        kind = profiles.profile(index)
        pairs = _levels(narrowing=kind != profiles.WAITING_ON_PRECEPTOR, n=len(CODES), rng=rng)
        endings = ENDINGS[index % len(ENDINGS)]
        if kind == profiles.WAITING_ON_PRECEPTOR:
            endings = ("awaiting_signature", "open_preceptor")
        codes = CODES[:1] if kind == profiles.NO_ASSESSMENTS else CODES
        for k, code in enumerate(codes):
            competency = competencies.get(code)
            if competency is None:
                continue
            day = start + timedelta(days=(span * k) // len(CODES))
            if kind == profiles.NO_ASSESSMENTS:
                day, target = today - timedelta(days=5), "open_none"
            elif k < SIGNED_CYCLES:
                target = "signed"
            else:
                target = endings[min(k - SIGNED_CYCLES, len(endings) - 1)]
                if kind != profiles.WAITING_ON_PRECEPTOR:
                    # Still moving: the open steps were asked for in the last fortnight.
                    day = today - timedelta(days=4 * (len(CODES) - k))
            _cycle(
                student,
                mentors[k % len(mentors)] if k >= 2 else mentors[0],
                competency,
                day,
                today,
                target,
                pairs[k],
                levels,
                rng,
                addendum=(k == 1 and index % 3 == 0),
            )


def _cycle(student, preceptor, competency, day, today, target, pair, levels, rng, *, addendum):
    own, theirs = pair
    cycle = service.start_cycle(
        student if rng.random() < 0.6 else preceptor,
        student=student,
        preceptor=preceptor,
        competency_id=competency.id,
        period_start=day - timedelta(days=28),
        period_end=day,
    )
    cycle.created_at = cycle.status_changed_at = clock.at(day, 9)
    if target == "open_none":
        return
    # The services stamp "now"; each step is moved back to its day in the year *before*
    # signing, because the signature covers the submission times.
    steps = [min(day + timedelta(days=d), today) for d in (1, 3, 5, 8)]
    if target in ("open_self", "revealed", "awaiting_signature", "returned", "signed"):
        service.submit_self_assessment(
            student, cycle, service.SelfRating(levels[own].id, rng.choice(EVIDENCE))
        )
        cycle.self_assessment.submitted_at = clock.at(steps[0], 18)
    if target in ("open_preceptor", "revealed", "awaiting_signature", "returned", "signed"):
        service.submit_preceptor_assessment(
            preceptor,
            cycle,
            level_id=levels[theirs].id,
            went_well=rng.choice(WENT_WELL),
            work_on=rng.choice(WORK_ON),
        )
        cycle.preceptor_assessment.submitted_at = clock.at(steps[1], 12)
    cycle.status_changed_at = clock.at(steps[1], 12)
    if target in ("open_self", "open_preceptor", "revealed"):
        return
    service.record_reaction(student, cycle, reaction=rng.choice(REACTIONS), plan=rng.choice(PLANS))
    cycle.status_changed_at = clock.at(steps[2], 20)
    if target == "returned":
        service.return_to_student(preceptor, cycle, "Please make the plan concrete: by when?")
        cycle.status_changed_at = clock.at(steps[3], 8)
        return
    if target == "awaiting_signature":
        return
    meaning = rng.choice(list(service.COSIGN_MEANINGS))
    service.record_cosignature(
        preceptor, cycle, SignatureMeaning(meaning), at=clock.at(steps[3], 8)
    )
    if addendum:
        note = service.record_addendum(
            preceptor,
            cycle,
            "Correction: one of the observed encounters was a telephone consultation.",
        )
        note.signature.signed_at = clock.at(min(steps[3] + timedelta(days=6), today), 10)
