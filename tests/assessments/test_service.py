"""The rules of an assessment cycle, through the services."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from clerkship import clock
from clerkship.assessments import queries, service
from clerkship.models import (
    AssessmentCycle,
    Assignment,
    AuditEvent,
    CycleStatus,
    LearningGoal,
    Role,
    Signature,
    SignatureMeaning,
)
from tests.conftest import TEST_PASSWORD


def _events(db, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- starting --------------------------------------------------------------------------------


def test_student_starts_and_preceptor_requests(db, scaled, make_user):
    mine = scaled["mine"]
    by_student = service.start_cycle(
        mine["student"],
        student=mine["student"],
        preceptor=mine["preceptor"],
        competency_id=scaled["epa"].id,
        period_start=date(2026, 9, 1),
        period_end=date(2026, 10, 31),
    )
    by_preceptor = service.start_cycle(
        mine["preceptor"],
        student=mine["student"],
        preceptor=mine["preceptor"],
        competency_id=scaled["epa"].id,
        encounter="Clinic, 3 November",
    )
    assert by_student.requested_by_id == mine["student"].id
    assert by_preceptor.requested_by_id == mine["preceptor"].id
    assert {by_student.status, by_preceptor.status} == {CycleStatus.OPEN}
    assert len(_events(db, "assessment.started")) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"competency": "acgme"}, "competency"),  # outside the program's frameworks
        ({"competency": None}, "competency"),
        ({"encounter": ""}, "period_start"),  # neither a period nor an encounter
        ({"period": (date(2026, 10, 1), date(2026, 9, 1))}, "period_end"),
    ],
)
def test_start_refuses_bad_input(db, scaled, change, field):
    mine = scaled["mine"]
    competency = change.get("competency", "epa")
    period = change.get("period", (None, None))
    with pytest.raises(service.AssessmentError) as raised:
        service.start_cycle(
            mine["student"],
            student=mine["student"],
            preceptor=mine["preceptor"],
            competency_id=scaled[competency].id if competency else None,
            period_start=period[0],
            period_end=period[1],
            encounter=change.get("encounter", "Ward round" if not period[0] else ""),
        )
    assert raised.value.field == field


def test_only_a_current_preceptor_can_be_asked(db, scaled, make_user):
    mine, other = scaled["mine"], scaled["other"]
    stranger = make_user(Role.PRECEPTOR)
    for preceptor in (stranger, other["preceptor"]):
        with pytest.raises(service.AssessmentError, match="not a current preceptor"):
            service.start_cycle(
                mine["student"],
                student=mine["student"],
                preceptor=preceptor,
                competency_id=scaled["epa"].id,
                encounter="Clinic",
            )
    # A preceptor whose assignment ended can no longer start one either.
    assignment = db.session.scalar(
        select(Assignment).where(Assignment.preceptor_id == mine["preceptor"].id)
    )
    assignment.end_date = clock.today() - timedelta(days=1)
    db.session.flush()
    with pytest.raises(service.AssessmentError):
        service.start_cycle(
            mine["preceptor"],
            student=mine["student"],
            preceptor=mine["preceptor"],
            competency_id=scaled["epa"].id,
            encounter="Clinic",
        )


# --- the blind phase -------------------------------------------------------------------------


def test_ratings_stay_blind_until_both_are_in(db, scaled, make_cycle):
    mine, levels = scaled["mine"], scaled["levels"]
    cycle = make_cycle()
    service.submit_self_assessment(
        mine["student"], cycle, service.SelfRating(levels[4].id, "Led two family meetings")
    )
    assert cycle.status is CycleStatus.OPEN
    assert service.gap(cycle) is None
    assert service.gap_sentence(cycle, mine["student"]) == ""
    assert queries.calibration(mine["student"].id) == []

    service.submit_preceptor_assessment(
        mine["preceptor"], cycle, level_id=levels[3].id, went_well="Calm", work_on="Structure"
    )
    assert cycle.status is CycleStatus.REVEALED
    assert service.gap(cycle) == 1
    assert service.gap_sentence(cycle, mine["student"]) == (
        "You rated yourself one level above your preceptor."
    )
    assert "above the preceptor" in service.gap_sentence(cycle, mine["preceptor"])


def test_gap_below_and_equal(db, scaled, make_cycle):
    mine = scaled["mine"]
    below = make_cycle(CycleStatus.REVEALED, self_level=1, preceptor_level=3)
    same = make_cycle(CycleStatus.REVEALED, self_level=2, preceptor_level=2)
    assert service.gap_sentence(below, mine["student"]) == (
        "You rated yourself two levels below your preceptor."
    )
    assert service.gap_sentence(same, mine["student"]) == (
        "You and your preceptor chose the same level."
    )


def test_ratings_must_be_on_the_programs_scale(db, scaled, make_cycle):
    from clerkship.models import EntrustmentLevel, EntrustmentScale

    mine = scaled["mine"]
    foreign = EntrustmentScale(code="other-scale", name="Other")
    foreign.levels = [EntrustmentLevel(value=1, label="Other 1")]
    db.session.add(foreign)
    db.session.flush()
    cycle = make_cycle()
    for level_id in (None, 999_999, foreign.levels[0].id):
        with pytest.raises(service.AssessmentError) as raised:
            service.submit_self_assessment(
                mine["student"], cycle, service.SelfRating(level_id, "evidence")
            )
        assert raised.value.field == "level"
        with pytest.raises(service.AssessmentError) as raised:
            service.submit_preceptor_assessment(
                mine["preceptor"], cycle, level_id=level_id, went_well="a", work_on="b"
            )
        assert raised.value.field == "level"
    assert cycle.self_assessment is None and cycle.preceptor_assessment is None


def test_self_assessment_needs_evidence_and_links_only_own_records(
    db, scaled, make_cycle, make_goal
):
    mine, other = scaled["mine"], scaled["other"]
    cycle = make_cycle()
    level = scaled["levels"][3].id
    with pytest.raises(service.AssessmentError) as raised:
        service.submit_self_assessment(mine["student"], cycle, service.SelfRating(level, "  "))
    assert raised.value.field == "evidence"
    not_mine = make_goal(other["student"], title="Someone else's goal")
    with pytest.raises(service.AssessmentError) as raised:
        service.submit_self_assessment(
            mine["student"], cycle, service.SelfRating(level, "ok", goal_ids=(not_mine.id,))
        )
    assert raised.value.field == "goals"
    own = make_goal(mine["student"], title="My goal")
    entry = service.submit_self_assessment(
        mine["student"], cycle, service.SelfRating(level, "ok", goal_ids=(own.id,))
    )
    assert [g.id for g in entry.goals] == [own.id]


def test_each_side_submits_once(db, scaled, make_cycle):
    mine, levels = scaled["mine"], scaled["levels"]
    cycle = make_cycle(CycleStatus.REVEALED)
    with pytest.raises(service.IllegalStep):
        service.submit_self_assessment(
            mine["student"], cycle, service.SelfRating(levels[1].id, "changed my mind")
        )
    with pytest.raises(service.IllegalStep):
        service.submit_preceptor_assessment(
            mine["preceptor"], cycle, level_id=levels[5].id, went_well="x", work_on="y"
        )
    assert cycle.self_assessment.level.value == 3
    assert cycle.preceptor_assessment.level.value == 2


def test_only_the_cycles_people_rate(db, scaled, make_cycle, make_user):
    mine, levels = scaled["mine"], scaled["levels"]
    cycle = make_cycle()
    for outsider in (mine["director"], scaled["other"]["preceptor"], make_user(Role.PRECEPTOR)):
        with pytest.raises(service.AssessmentError):
            service.submit_preceptor_assessment(
                outsider, cycle, level_id=levels[2].id, went_well="x", work_on="y"
            )
    with pytest.raises(service.AssessmentError):
        service.submit_self_assessment(
            mine["preceptor"], cycle, service.SelfRating(levels[2].id, "x")
        )
    with pytest.raises(service.AssessmentError):  # narrative first: both parts required
        service.submit_preceptor_assessment(
            mine["preceptor"], cycle, level_id=levels[2].id, went_well="", work_on="y"
        )


# --- reaction, plan, return ------------------------------------------------------------------


def test_reaction_only_after_reveal_and_before_signing(db, scaled, make_cycle):
    mine = scaled["mine"]
    open_cycle = make_cycle()
    with pytest.raises(service.IllegalStep):
        service.record_reaction(mine["student"], open_cycle, reaction="r", plan="p")
    signed = make_cycle(CycleStatus.SIGNED)
    with pytest.raises(service.IllegalStep, match="signed"):
        service.record_reaction(mine["student"], signed, reaction="new", plan="new")
    revealed = make_cycle(CycleStatus.REVEALED)
    with pytest.raises(service.AssessmentError) as raised:
        service.record_reaction(mine["student"], revealed, reaction="fine", plan=" ")
    assert raised.value.field == "plan"


def test_return_and_resubmit(db, scaled, make_cycle):
    mine = scaled["mine"]
    cycle = make_cycle(CycleStatus.RETURNED)
    assert cycle.return_comment == "Make the plan more concrete"
    with pytest.raises(service.IllegalStep):
        service.sign(
            mine["preceptor"], cycle, password=TEST_PASSWORD, meaning="cosigned_supervisor"
        )
    service.record_reaction(
        mine["student"], cycle, reaction="Agreed", plan="Lead two summaries by 1 December"
    )
    assert cycle.status is CycleStatus.AWAITING_SIGNATURE
    with pytest.raises(service.AssessmentError) as raised:
        service.return_to_student(mine["preceptor"], cycle, "")
    assert raised.value.field == "comment"


def test_goal_from_plan_is_linked_both_ways(db, scaled, make_cycle):
    mine = scaled["mine"]
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    goal = service.goal_from_plan(mine["student"], cycle, "Summarise plans for families")
    db.session.commit()
    db.session.expire_all()
    goal = db.session.get(LearningGoal, goal.id)
    assert goal.from_assessment.id == cycle.id
    assert [g.id for g in db.session.get(AssessmentCycle, cycle.id).plan_goals] == [goal.id]
    assert goal.latest.actions == "Lead two summaries"
    assert [c.id for c in goal.competencies] == [scaled["epa"].id]
    with pytest.raises(service.IllegalStep):
        service.goal_from_plan(mine["student"], make_cycle(), "Too early")


# --- signing ---------------------------------------------------------------------------------


def test_signing_records_who_when_meaning_and_hash(db, scaled, make_cycle):
    mine = scaled["mine"]
    cycle = make_cycle(CycleStatus.SIGNED)
    signature = cycle.signature
    assert signature.signer_id == mine["preceptor"].id
    assert signature.printed_name == mine["preceptor"].name
    assert signature.meaning is SignatureMeaning.COSIGNED_SUPERVISOR
    assert signature.signed_at.tzinfo is not None
    assert len(signature.content_hash) == 64
    assert service.signature_valid(cycle) is True
    assert _events(db, "assessment.signed")


def test_wrong_password_signs_nothing_and_is_audited(db, scaled, make_cycle):
    mine = scaled["mine"]
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    with pytest.raises(service.WrongPassword) as raised:
        service.sign(mine["preceptor"], cycle, password="not it", meaning="reviewed_and_agreed")
    assert raised.value.field == "password"
    assert cycle.status is CycleStatus.AWAITING_SIGNATURE
    assert db.session.scalar(select(Signature).where(Signature.subject_id == cycle.id)) is None
    assert len(_events(db, "assessment.signature_failed")) == 1


@pytest.mark.parametrize("meaning", [None, "", "agreed_goal", "addendum", "whatever"])
def test_meaning_comes_from_the_fixed_list(db, scaled, make_cycle, meaning):
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    with pytest.raises(service.AssessmentError) as raised:
        service.sign(scaled["mine"]["preceptor"], cycle, password=TEST_PASSWORD, meaning=meaning)
    assert raised.value.field == "meaning"


def test_nobody_else_signs_and_nobody_signs_twice(db, scaled, make_cycle):
    mine = scaled["mine"]
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    with pytest.raises(service.AssessmentError, match="own self-assessment"):
        service.sign(mine["student"], cycle, password=TEST_PASSWORD, meaning="reviewed_and_agreed")
    for other in (mine["director"], scaled["other"]["preceptor"]):
        with pytest.raises(service.AssessmentError):
            service.sign(other, cycle, password=TEST_PASSWORD, meaning="reviewed_and_agreed")
    service.sign(mine["preceptor"], cycle, password=TEST_PASSWORD, meaning="reviewed_and_agreed")
    with pytest.raises(service.IllegalStep, match="already signed"):
        service.sign(
            mine["preceptor"], cycle, password=TEST_PASSWORD, meaning="reviewed_and_agreed"
        )


def test_an_ended_assignment_cannot_sign(db, scaled, make_cycle):
    mine = scaled["mine"]
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    assignment = db.session.scalar(
        select(Assignment).where(Assignment.preceptor_id == mine["preceptor"].id)
    )
    assignment.end_date = clock.today() - timedelta(days=1)
    db.session.flush()
    with pytest.raises(service.AssessmentError):
        service.sign(
            mine["preceptor"], cycle, password=TEST_PASSWORD, meaning="reviewed_and_agreed"
        )


# --- immutability, addenda, tampering --------------------------------------------------------


def test_signed_records_refuse_every_change(db, scaled, make_cycle):
    mine = scaled["mine"]
    cycle = make_cycle(CycleStatus.SIGNED)
    with pytest.raises(service.IllegalStep):
        service.return_to_student(mine["preceptor"], cycle, "Wait")
    # Behind the services too: the ORM refuses to flush a change to a signed record.
    cycle.self_assessment.evidence = "rewritten"
    with pytest.raises(service.SignedRecordChanged):
        db.session.flush()
    db.session.rollback()
    cycle = db.session.get(AssessmentCycle, cycle.id)
    cycle.encounter = "another encounter"
    with pytest.raises(service.SignedRecordChanged):
        db.session.flush()
    db.session.rollback()
    assert service.signature_valid(db.session.get(AssessmentCycle, cycle.id)) is True


def test_addendum_is_signed_and_shown_beneath(db, scaled, make_cycle):
    mine = scaled["mine"]
    cycle = make_cycle(CycleStatus.SIGNED)
    with pytest.raises(service.WrongPassword):
        service.add_addendum(mine["preceptor"], cycle, body="Correction", password="nope")
    with pytest.raises(service.AssessmentError) as raised:
        service.add_addendum(mine["preceptor"], cycle, body=" ", password=TEST_PASSWORD)
    assert raised.value.field == "body"
    addendum = service.add_addendum(
        mine["student"], cycle, body="The encounter was on 4 November.", password=TEST_PASSWORD
    )
    db.session.commit()
    assert addendum.signature.meaning is SignatureMeaning.ADDENDUM
    assert service.addendum_valid(addendum, cycle)
    assert service.signature_valid(cycle) is True  # the original is untouched
    with pytest.raises(service.IllegalStep):
        service.add_addendum(
            mine["student"], make_cycle(CycleStatus.REVEALED), body="x", password=TEST_PASSWORD
        )


def test_tampering_in_the_database_is_detected(db, scaled, make_cycle):
    cycle = make_cycle(CycleStatus.SIGNED)
    addendum = service.add_addendum(
        scaled["mine"]["preceptor"], cycle, body="Addendum text", password=TEST_PASSWORD
    )
    db.session.commit()
    # Someone with database access edits the rows directly, bypassing the application.
    db.session.execute(
        text("UPDATE preceptor_assessment SET work_on = 'Nothing' WHERE cycle_id = :id"),
        {"id": cycle.id},
    )
    db.session.execute(
        text("UPDATE assessment_addendum SET body = 'Other text' WHERE id = :id"),
        {"id": addendum.id},
    )
    db.session.commit()
    db.session.expire_all()
    cycle = db.session.get(AssessmentCycle, cycle.id)
    assert service.signature_valid(cycle) is False
    assert not service.addendum_valid(cycle.addenda[0], cycle)


def test_level_relabelled_in_the_database_is_detected(db, scaled, make_cycle):
    cycle = make_cycle(CycleStatus.SIGNED)
    db.session.execute(
        text("UPDATE self_assessment SET level_id = :level WHERE cycle_id = :id"),
        {"level": scaled["levels"][5].id, "id": cycle.id},
    )
    db.session.commit()
    db.session.expire_all()
    assert service.signature_valid(db.session.get(AssessmentCycle, cycle.id)) is False


def test_two_people_acting_at_once_do_not_both_win(db, scaled, make_cycle):
    """Two tabs (or two people) sign/return the same cycle at once: the second one fails."""
    mine = scaled["mine"]
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    other_session = Session(bind=db.session.connection())
    stale = other_session.get(AssessmentCycle, cycle.id)
    assert stale.status is CycleStatus.AWAITING_SIGNATURE
    service.sign(mine["preceptor"], cycle, password=TEST_PASSWORD, meaning="reviewed_and_agreed")
    db.session.flush()
    stale.status = CycleStatus.RETURNED
    stale.return_comment = "late"
    with pytest.raises(StaleDataError):
        other_session.flush()
    other_session.rollback()
    other_session.close()
    assert db.session.get(AssessmentCycle, cycle.id).status is CycleStatus.SIGNED


# --- queues and calibration ------------------------------------------------------------------


def test_queues_say_what_waits_for_whom(db, scaled, make_cycle):
    mine = scaled["mine"]
    open_cycle = make_cycle()
    revealed = make_cycle(CycleStatus.REVEALED)
    awaiting = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    returned = make_cycle(CycleStatus.RETURNED)
    make_cycle(CycleStatus.SIGNED)
    student_rows = {
        (row.cycle.id, row.action) for row in queries.student_queue(mine["student"].id)
    }
    assert student_rows == {
        (open_cycle.id, "self_assess"),
        (revealed.id, "react"),
        (returned.id, "revise"),
    }
    preceptor_rows = queries.preceptor_queue(mine["preceptor"].id)
    assert [(row.cycle.id, row.action) for row in preceptor_rows] == [
        (open_cycle.id, "rate"),
        (awaiting.id, "sign"),
    ]
    assert queries.preceptor_queue(scaled["other"]["preceptor"].id) == []


def test_preceptor_queue_is_oldest_first_with_age(db, scaled, make_cycle):
    from clerkship.models import utcnow

    first, second = make_cycle(), make_cycle()
    first.status_changed_at = utcnow() - timedelta(days=12)
    second.status_changed_at = utcnow() - timedelta(days=30)
    db.session.commit()
    rows = queries.preceptor_queue(scaled["mine"]["preceptor"].id)
    assert [(row.cycle.id, row.days) for row in rows] == [(second.id, 30), (first.id, 12)]


def test_calibration_per_competency_in_date_order(db, scaled, make_cycle):
    mine = scaled["mine"]
    second_epa = scaled["epa"].framework.competencies[1]
    early = make_cycle(CycleStatus.SIGNED, self_level=4, preceptor_level=2)
    late = make_cycle(CycleStatus.REVEALED, self_level=3, preceptor_level=3)
    other = make_cycle(
        CycleStatus.REVEALED, competency=second_epa, self_level=2, preceptor_level=3
    )
    make_cycle()  # blind: never charted
    early.period_start, early.period_end = date(2026, 9, 1), date(2026, 9, 30)
    late.period_start, late.period_end = date(2026, 11, 1), date(2026, 11, 15)
    db.session.flush()
    rows = queries.calibration(mine["student"].id)
    assert [competency.id for competency, _points, _above in rows] == [
        scaled["epa"].id,
        second_epa.id,
    ]
    points = rows[0][1]
    assert [(p.cycle.id, p.self_level.value, p.preceptor_level.value, p.gap) for p in points] == [
        (early.id, 4, 2, 2),
        (late.id, 3, 3, 0),
    ]
    assert [p.cycle.id for p in rows[1][1]] == [other.id]


def test_a_goal_from_the_plan_follows_the_revised_plan_until_agreed(db, scaled, make_cycle):
    from clerkship.goals import service as goals

    mine = scaled["mine"]
    student, preceptor = mine["student"], mine["preceptor"]
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    goal = service.goal_from_plan(student, cycle, "Summarise plans for families")
    service.return_to_student(preceptor, cycle, "Say when and with whom")
    service.record_reaction(student, cycle, reaction="Agreed", plan="Two summaries by 1 Dec")
    assert goal.latest.actions == "Two summaries by 1 Dec"
    assert goal.latest.title == "Summarise plans for families" and goal.current_version == 2
    assert _events(db, "goal.plan_followed")

    goals.share_goal(student, goal, [preceptor])
    goals.agree(preceptor, goal)
    service.return_to_student(preceptor, cycle, "Once more")
    service.record_reaction(student, cycle, reaction="Agreed", plan="Three summaries")
    # Agreed: the signed words stay; only the student's own edit changes the goal now.
    assert goal.latest.actions == "Two summaries by 1 Dec" and goal.current_version == 2


def test_a_student_reworded_goal_is_not_overwritten_by_the_plan(db, scaled, make_cycle):
    from clerkship.goals import service as goals

    mine = scaled["mine"]
    student = mine["student"]
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    goal = service.goal_from_plan(student, cycle, "Summaries")
    text = goals.text_of(goal.latest)
    text.actions = "My own words"
    goals.edit_goal(student, goal, text, list(goal.competencies), seen_version_id=goal.version_id)
    service.return_to_student(mine["preceptor"], cycle, "Say when")
    service.record_reaction(student, cycle, reaction="Agreed", plan="Two summaries by 1 Dec")
    assert goal.latest.actions == "My own words"
