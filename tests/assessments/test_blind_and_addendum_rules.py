"""The blind-reveal and addendum rules answer from permissions.py (they used to live in the
assessment views and service)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from clerkship import clock
from clerkship import permissions as p
from clerkship.models import Assignment, CycleStatus


def test_ratings_stay_blind_until_both_are_in(db, make_cycle, scaled):
    mine = scaled["mine"]
    cycle = make_cycle(CycleStatus.OPEN)
    from clerkship.assessments import service

    service.submit_self_assessment(
        mine["student"], cycle, service.SelfRating(scaled["levels"][3].id, "evidence")
    )
    assert p.can_see_self_rating(mine["student"], cycle)
    assert not p.can_see_self_rating(mine["preceptor"], cycle)
    assert not p.can_see_self_rating(mine["director"], cycle)
    assert not p.can_see_preceptor_rating(mine["student"], cycle)
    assert p.can_see_preceptor_rating(mine["preceptor"], cycle)
    revealed = make_cycle(CycleStatus.REVEALED)
    for viewer in ("student", "preceptor", "director"):
        assert p.can_see_self_rating(mine[viewer], revealed)
        assert p.can_see_preceptor_rating(mine[viewer], revealed)
    for outsider in (mine["patient"], scaled["other"]["director"]):
        assert not p.can_see_self_rating(outsider, revealed)
        assert not p.can_see_preceptor_rating(outsider, revealed)


def test_addenda_are_for_signed_records_by_the_student_or_their_current_preceptor(
    db, make_cycle, scaled
):
    mine = scaled["mine"]
    signed = make_cycle(CycleStatus.SIGNED)
    assert p.can_add_addendum(mine["student"], signed)
    assert p.can_add_addendum(mine["preceptor"], signed)
    assert not p.can_add_addendum(mine["director"], signed)
    assert not p.can_add_addendum(mine["patient"], signed)
    assert not p.can_add_addendum(mine["student"], make_cycle(CycleStatus.AWAITING_SIGNATURE))
    assignment = db.session.scalar(
        select(Assignment).where(Assignment.preceptor_id == mine["preceptor"].id)
    )
    assignment.end_date = clock.today() - timedelta(days=1)
    db.session.flush()
    assert not p.can_add_addendum(mine["preceptor"], signed)
