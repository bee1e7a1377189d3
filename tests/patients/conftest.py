"""Patient-link fixtures: the shipped instrument on both programs, and invitations."""

from __future__ import annotations

import pytest

from clerkship import seeds
from clerkship.models import InvitationPurpose, PanelEntry
from clerkship.panels import service


@pytest.fixture
def instrumented(db, world):
    seeds.load_shipped()
    for side in ("mine", "other"):
        world[side]["program"].feedback_instrument = seeds.default_instrument()
        world[side]["program"].scale = seeds.default_scale()
    db.session.commit()
    world["instrument"] = seeds.default_instrument()
    return world


@pytest.fixture
def invite(db, instrumented):
    """``invite()`` → (invitation, token) for the "mine" patient, made as the student would."""

    def make(purpose=InvitationPurpose.FEEDBACK, *, goal=None, side="mine"):
        part = instrumented[side]
        entry = (
            db.session.query(PanelEntry)
            .filter_by(student_id=part["student"].id, patient_id=part["patient"].id)
            .one()
        )
        invitation, token = service.create_invitation(part["student"], entry, purpose, goal=goal)
        db.session.commit()
        return invitation, token

    return make


def full_answers(instrument, value="4", **extra) -> dict:
    data = {f"item-{item.key}": value for item in instrument.items}
    data.update({"show_name": "no", "anything_else": "", "hope_next": ""})
    data.update(extra)
    return data
