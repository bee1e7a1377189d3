"""The predicates behind DESIGN.md's access rules, record by record."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from clerkship import clock
from clerkship import permissions as p
from clerkship.models import (
    AssessmentCycle,
    Assignment,
    Competency,
    ExportJob,
    FeedbackInstrument,
    Framework,
    GoalShare,
    GoalVersion,
    LearningGoal,
    PatientFeedback,
    Reflection,
)


@pytest.fixture
def records(db, world):
    mine = world["mine"]
    framework = Framework(code="perm-fw", name="Perm")
    competency = Competency(framework=framework, code="C1", title="Competency one")
    goal = LearningGoal(student_id=mine["student"].id)
    goal.versions.append(GoalVersion(number=1, title="Goal", author_id=mine["student"].id))
    cycle = AssessmentCycle(
        student_id=mine["student"].id,
        preceptor_id=mine["preceptor"].id,
        competency=competency,
        requested_by_id=mine["student"].id,
    )
    instrument = FeedbackInstrument(code="perm", name={"en": "Perm"}, scale=[])
    feedback = PatientFeedback(
        instrument=instrument, patient_id=mine["patient"].id, student_id=mine["student"].id
    )
    private = Reflection(student_id=mine["student"].id, title="Private", body="…")
    shared = Reflection(student_id=mine["student"].id, title="Shared", body="…", in_portfolio=True)
    job = ExportJob(requested_by_id=mine["director"].id, program_id=mine["program"].id)
    db.session.add_all([framework, goal, cycle, feedback, private, shared, job])
    db.session.flush()
    return {
        "goal": goal,
        "cycle": cycle,
        "feedback": feedback,
        "private": private,
        "shared": shared,
        "job": job,
    }


def share(db, goal, user):
    db.session.add(GoalShare(goal_id=goal.id, user_id=user.id))
    db.session.flush()


def test_goal_is_the_students_until_shared(db, world, records):
    mine, other = world["mine"], world["other"]
    goal = records["goal"]
    assert p.can_view_goal(mine["student"], goal)
    assert p.can_edit_goal(mine["student"], goal)
    assert p.can_view_goal(mine["director"], goal)
    for outsider in (mine["preceptor"], mine["patient"], other["student"], other["director"]):
        assert not p.can_view_goal(outsider, goal)
    assert not p.can_view_goal(world["admin"], goal)

    share(db, goal, mine["preceptor"])
    share(db, goal, mine["patient"])
    assert p.can_view_goal(mine["preceptor"], goal)
    assert p.can_agree_goal(mine["preceptor"], goal)
    assert p.can_view_goal(mine["patient"], goal)
    assert p.can_contribute_to_goal(mine["patient"], goal)
    assert not p.can_agree_goal(mine["patient"], goal)
    assert not p.can_edit_goal(mine["preceptor"], goal)
    assert not p.can_agree_goal(mine["director"], goal)


def test_sharing_with_someone_unrelated_grants_nothing(db, world, records):
    goal = records["goal"]
    stranger = world["other"]["preceptor"]
    share(db, goal, stranger)
    assert not p.can_view_goal(stranger, goal)
    assert not p.can_contribute_to_goal(stranger, goal)


def test_ended_assignment_leaves_a_preceptor_read_only(db, world, records):
    mine = world["mine"]
    goal = records["goal"]
    share(db, goal, mine["preceptor"])
    assignment = db.session.scalar(
        select(Assignment).where(Assignment.preceptor_id == mine["preceptor"].id)
    )
    assignment.end_date = clock.today() - timedelta(days=1)
    db.session.flush()
    assert p.can_view_goal(mine["preceptor"], goal)
    assert not p.can_contribute_to_goal(mine["preceptor"], goal)
    assert not p.can_agree_goal(mine["preceptor"], goal)
    assert p.can_view_assessment(mine["preceptor"], records["cycle"])
    assert not p.can_rate_assessment(mine["preceptor"], records["cycle"])
    assert not p.can_sign_assessment(mine["preceptor"], records["cycle"])


def test_assessments_are_never_shown_to_patients_and_signed_only_by_their_preceptor(
    world, records
):
    mine, other = world["mine"], world["other"]
    cycle = records["cycle"]
    assert p.can_view_assessment(mine["student"], cycle)
    assert p.can_view_assessment(mine["director"], cycle)
    assert p.can_sign_assessment(mine["preceptor"], cycle)
    assert not p.can_view_assessment(mine["patient"], cycle)
    assert not p.can_view_assessment(other["director"], cycle)
    assert not p.can_sign_assessment(mine["director"], cycle)
    assert not p.can_sign_assessment(mine["student"], cycle)


def test_patient_feedback_is_seen_by_its_author_not_by_other_patients(
    db, make_user, world, records
):
    mine = world["mine"]
    feedback = records["feedback"]
    assert p.can_view_feedback(mine["patient"], feedback)
    assert p.can_view_feedback(mine["student"], feedback)
    assert p.can_view_feedback(mine["preceptor"], feedback)
    assert p.can_view_feedback(mine["director"], feedback)
    second_patient = make_user("patient")
    assert not p.can_view_feedback(second_patient, feedback)
    assert not p.can_view_feedback(world["other"]["director"], feedback)


def test_reflections_stay_private_unless_put_in_the_portfolio(world, records):
    mine = world["mine"]
    assert p.can_view_reflection(mine["student"], records["private"])
    assert not p.can_view_reflection(mine["preceptor"], records["private"])
    assert not p.can_view_reflection(mine["director"], records["private"])
    assert p.can_view_reflection(mine["preceptor"], records["shared"])
    assert p.can_view_reflection(mine["director"], records["shared"])
    assert not p.can_view_reflection(mine["patient"], records["shared"])
    assert not p.can_edit_reflection(mine["director"], records["shared"])


def test_exports_belong_to_the_programs_directors(world, records):
    mine, other = world["mine"], world["other"]
    assert p.can_export_portfolios(mine["director"], mine["program"])
    assert not p.can_export_portfolios(other["director"], mine["program"])
    assert not p.can_export_portfolios(mine["preceptor"], mine["program"])
    assert p.can_view_export_job(mine["director"], records["job"])
    assert not p.can_view_export_job(other["director"], records["job"])
    assert not p.can_view_portfolio(mine["patient"], mine["student"])
    assert p.can_view_portfolio(mine["preceptor"], mine["student"])


def test_predicates_are_template_globals(app):
    for name in ("can_view_goal", "can_sign_assessment", "can_view_student", "is_admin"):
        assert app.jinja_env.globals[name] is getattr(p, name)


def test_signed_out_and_deactivated_users_may_do_nothing(db, world, records):
    from flask_login import AnonymousUserMixin

    mine = world["mine"]
    assert not p.can_view_goal(AnonymousUserMixin(), records["goal"])
    mine["student"].active = False
    assert not p.can_view_goal(mine["student"], records["goal"])
