"""Assessment fixtures: the shipped scale and frameworks, linked to the test programs, and a
helper that walks a cycle through its steps with the real services."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clerkship import seeds
from clerkship.assessments import service
from clerkship.models import Competency, CycleStatus, Framework
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def scaled(db, world):
    """Both test programs use the shipped scale; "mine" assesses against the AAMC EPAs only."""
    seeds.load_shipped()
    scale = seeds.default_scale()
    epas = db.session.scalar(select(Framework).where(Framework.code == seeds.EPA_FRAMEWORK_CODE))
    for side in ("mine", "other"):
        world[side]["program"].scale = scale
        world[side]["program"].frameworks = [epas]
    db.session.commit()
    world["scale"] = scale
    world["levels"] = {level.value: level for level in scale.levels}
    world["epa"] = epas.competencies[0]
    world["acgme"] = db.session.scalar(
        select(Competency)
        .join(Framework)
        .where(Framework.code == seeds.ACGME_FRAMEWORK_CODE)
        .limit(1)
    )
    return world


@pytest.fixture
def make_cycle(db, scaled):
    """A cycle in ``mine`` brought to ``until`` through the services, as people would."""

    def make(
        until: CycleStatus = CycleStatus.OPEN,
        *,
        self_level=3,
        preceptor_level=2,
        competency=None,
        side="mine",
    ):
        part = scaled[side]
        student, preceptor = part["student"], part["preceptor"]
        levels = scaled["levels"]
        cycle = service.start_cycle(
            student,
            student=student,
            preceptor=preceptor,
            competency_id=(competency or scaled["epa"]).id,
            encounter="Home visit",
        )
        if until is not CycleStatus.OPEN:
            service.submit_self_assessment(
                student,
                cycle,
                service.SelfRating(levels[self_level].id, "Three home visits this month"),
            )
            service.submit_preceptor_assessment(
                preceptor,
                cycle,
                level_id=levels[preceptor_level].id,
                went_well="Clear history taking",
                work_on="Summarise the plan for the family",
            )
        if until in (CycleStatus.AWAITING_SIGNATURE, CycleStatus.RETURNED, CycleStatus.SIGNED):
            service.record_reaction(
                student, cycle, reaction="Fair; I overrated myself", plan="Lead two summaries"
            )
        if until is CycleStatus.RETURNED:
            service.return_to_student(preceptor, cycle, "Make the plan more concrete")
        if until is CycleStatus.SIGNED:
            service.sign(
                preceptor,
                cycle,
                password=TEST_PASSWORD,
                meaning="cosigned_supervisor",
            )
        db.session.commit()
        assert cycle.status is until
        return cycle

    return make
