"""Credential fixtures: the assessment fixtures, with "mine" marking level 4 (of the shipped
5-level scale) as an entrustment decision, and a co-signed cycle at level 4."""

from __future__ import annotations

import pytest

from clerkship.models import CycleStatus
from tests.assessments.conftest import make_cycle, scaled  # noqa: F401  (fixtures)
from tests.test_signed_records import own_key_file  # noqa: F401  (a fixture)


@pytest.fixture
def decision(db, scaled, make_cycle):  # noqa: F811
    for side in ("mine", "other"):
        scaled[side]["program"].entrustment_value = 4
    cycle = make_cycle(CycleStatus.SIGNED, self_level=4, preceptor_level=4)
    db.session.commit()
    return cycle
