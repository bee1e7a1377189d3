"""The rules of coproduced goals, tested at the service layer."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from clerkship import clock
from clerkship.goals import service
from clerkship.goals.queries import changes, history
from clerkship.models import (
    AuditEvent,
    Competency,
    ContributionKind,
    Framework,
    GoalStatus,
    LearningGoal,
    SuggestionState,
)


@pytest.fixture
def people(world):
    return world["mine"]


@pytest.fixture
def shared_goal(make_goal, people):
    return make_goal(
        people["student"],
        title="Lead a family meeting",
        specific="Lead one meeting about a new diagnosis",
        share_with=[people["preceptor"], people["patient"]],
    )


def actions(db, goal_or_obj=None):
    return db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()


def test_a_new_goal_is_a_draft_only_the_student_sees(db, people, make_goal):
    goal = make_goal(people["student"])
    assert goal.status is GoalStatus.DRAFT
    assert [v.number for v in goal.versions] == [1]
    assert "goal.created" in actions(db)


def test_sharing_needs_a_current_preceptor_and_only_the_students_people(
    db, world, people, make_goal
):
    goal = make_goal(people["student"])
    with pytest.raises(service.GoalError, match="at least one of your preceptors") as error:
        service.share_goal(people["student"], goal, [people["patient"]])
    assert error.value.field == "people"
    with pytest.raises(service.GoalError, match="current preceptors and panel patients"):
        service.share_goal(people["student"], goal, [world["other"]["preceptor"]])
    assert goal.status is GoalStatus.DRAFT

    added = service.share_goal(people["student"], goal, [people["preceptor"], people["patient"]])
    assert {u.id for u in added} == {people["preceptor"].id, people["patient"].id}
    assert goal.status is GoalStatus.SHARED


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (GoalStatus.DRAFT, GoalStatus.AGREED),
        (GoalStatus.DRAFT, GoalStatus.ACHIEVED),
        (GoalStatus.DRAFT, GoalStatus.REVISED),
        (GoalStatus.SHARED, GoalStatus.ACHIEVED),
        (GoalStatus.SHARED, GoalStatus.REVISED),
        (GoalStatus.SHARED, GoalStatus.DRAFT),
        (GoalStatus.AGREED, GoalStatus.DRAFT),
        (GoalStatus.ACHIEVED, GoalStatus.SHARED),
        (GoalStatus.DROPPED, GoalStatus.AGREED),
        (GoalStatus.REVISED, GoalStatus.ACHIEVED),
    ],
)
def test_illegal_transitions_are_refused(db, people, start, target):
    goal = LearningGoal(student_id=people["student"].id, status=start)
    with pytest.raises(service.IllegalTransition):
        service._move(goal, target)
    assert goal.status is start


def test_every_allowed_transition_is_in_the_table():
    allowed = {(a, b) for a, targets in service.TRANSITIONS.items() for b in targets}
    assert allowed == {
        (GoalStatus.DRAFT, GoalStatus.SHARED),
        (GoalStatus.DRAFT, GoalStatus.DROPPED),
        (GoalStatus.SHARED, GoalStatus.AGREED),
        (GoalStatus.SHARED, GoalStatus.DROPPED),
        (GoalStatus.AGREED, GoalStatus.SHARED),
        (GoalStatus.AGREED, GoalStatus.ACHIEVED),
        (GoalStatus.AGREED, GoalStatus.REVISED),
        (GoalStatus.AGREED, GoalStatus.DROPPED),
    }


def test_target_date_in_the_past_is_refused(people):
    with pytest.raises(service.GoalError, match="past") as error:
        service.create_goal(
            people["student"],
            service.GoalText(title="Late", target_date=clock.today() - timedelta(days=1)),
            [],
        )
    assert error.value.field == "target_date"


def test_suggestion_accepted_makes_a_version_crediting_the_suggester(db, people, shared_goal):
    suggestion = service.suggest(
        people["patient"], shared_goal, "measure", "Ask me afterwards if I understood"
    )
    assert suggestion.suggestion_state is SuggestionState.PENDING
    assert suggestion.author_role.value == "patient"

    version = service.accept_suggestion(people["student"], shared_goal, suggestion)
    assert version.number == 2
    assert version.measure == "Ask me afterwards if I understood"
    assert version.from_contribution_id == suggestion.id
    assert version.title == "Lead a family meeting"  # the other fields carry over
    assert suggestion.suggestion_state is SuggestionState.ACCEPTED
    with pytest.raises(service.AlreadyDone):
        service.accept_suggestion(people["student"], shared_goal, suggestion)


def test_declining_needs_a_reason(db, people, shared_goal):
    suggestion = service.suggest(people["preceptor"], shared_goal, "title", "Run a family meeting")
    with pytest.raises(service.GoalError, match="why") as error:
        service.decline_suggestion(people["student"], shared_goal, suggestion, "  ")
    assert error.value.field == "reason"
    service.decline_suggestion(people["student"], shared_goal, suggestion, "I prefer 'lead'")
    assert suggestion.suggestion_state is SuggestionState.DECLINED
    assert suggestion.response_reason == "I prefer 'lead'"
    assert shared_goal.current_version == 1


def test_students_edit_rather_than_suggest_and_suggestions_must_differ(people, shared_goal):
    with pytest.raises(service.GoalError, match="Edit your goal"):
        service.suggest(people["student"], shared_goal, "title", "Something")
    with pytest.raises(service.GoalError, match="already has"):
        service.suggest(people["preceptor"], shared_goal, "title", "Lead a family meeting")
    with pytest.raises(service.GoalError, match="which part"):
        service.suggest(people["preceptor"], shared_goal, "target_date", "tomorrow")


def test_agreement_signs_the_exact_version_and_an_edit_resets_it(db, people, shared_goal):
    agreement = service.agree(people["preceptor"], shared_goal)
    assert shared_goal.status is GoalStatus.AGREED
    signature = agreement.signature
    assert signature.printed_name == people["preceptor"].name
    assert signature.meaning.value == "agreed_goal"
    assert len(signature.content_hash) == 64
    assert service.agreement_is_valid(shared_goal, agreement)
    with pytest.raises(service.AlreadyDone):
        service.agree(people["preceptor"], shared_goal)

    version = service.edit_goal(
        people["student"],
        shared_goal,
        service.GoalText(title="Lead two family meetings"),
        [],
        seen_version_id=shared_goal.version_id,
    )
    assert version.number == 2
    assert shared_goal.status is GoalStatus.SHARED  # needs agreeing again
    assert service.agreement_is_valid(shared_goal, agreement)  # the old one stays valid
    rows = history(shared_goal)
    assert [(v.number, len(agreed)) for v, _, agreed in rows] == [(2, 0), (1, 1)]

    again = service.agree(people["preceptor"], shared_goal)
    assert again.version_number == 2
    assert again.signature.content_hash != signature.content_hash


def test_tampering_with_an_agreed_version_breaks_its_signature(db, people, shared_goal):
    from clerkship.models import GoalVersion

    agreement = service.agree(people["preceptor"], shared_goal)
    db.session.commit()
    db.session.execute(
        sa.update(GoalVersion.__table__)
        .where(GoalVersion.__table__.c.goal_id == shared_goal.id)
        .values(title="Something the preceptor never agreed to")
    )
    db.session.expire_all()
    goal = db.session.get(LearningGoal, shared_goal.id)
    agreement = next(c for c in goal.contributions if c.id == agreement.id)
    assert not service.agreement_is_valid(goal, agreement)


def test_patients_endorse_once_per_version_and_cannot_agree(db, people, shared_goal):
    service.endorse(people["patient"], shared_goal, "My grandson had one of these")
    with pytest.raises(service.AlreadyDone):
        service.endorse(people["patient"], shared_goal)
    with pytest.raises(service.GoalError):
        service.agree(people["patient"], shared_goal)
    with pytest.raises(service.GoalError):
        service.endorse(people["preceptor"], shared_goal)
    assert shared_goal.status is GoalStatus.SHARED


def test_stale_edit_is_a_conflict_and_writes_nothing(db, people, shared_goal):
    seen = shared_goal.version_id
    service.edit_goal(
        people["student"],
        shared_goal,
        service.GoalText(title="First save"),
        [],
        seen_version_id=seen,
    )
    with pytest.raises(service.EditConflict):
        service.edit_goal(
            people["student"],
            shared_goal,
            service.GoalText(title="Second save"),
            [],
            seen_version_id=seen,
        )
    assert shared_goal.latest.title == "First save"


def test_an_unchanged_edit_makes_no_version(people, shared_goal):
    result = service.edit_goal(
        people["student"],
        shared_goal,
        service.GoalText(
            title="Lead a family meeting ", specific="Lead one meeting about a new diagnosis"
        ),
        [],
        seen_version_id=shared_goal.version_id,
    )
    assert result is None
    assert shared_goal.current_version == 1


def test_closing_needs_a_reflection_and_is_final(db, people, shared_goal):
    service.agree(people["preceptor"], shared_goal)
    with pytest.raises(service.GoalError) as error:
        service.close_goal(people["student"], shared_goal, GoalStatus.ACHIEVED, "")
    assert error.value.field == "reflection"
    service.close_goal(people["student"], shared_goal, GoalStatus.ACHIEVED, "I learned to pause.")
    assert shared_goal.status is GoalStatus.ACHIEVED
    assert shared_goal.closed_at is not None
    for act in (
        lambda: service.add_note(
            people["preceptor"], shared_goal, ContributionKind.COMMENT, "Well done"
        ),
        lambda: service.suggest(people["preceptor"], shared_goal, "title", "New"),
        lambda: service.agree(people["preceptor"], shared_goal),
        lambda: service.close_goal(people["student"], shared_goal, GoalStatus.DROPPED, "x"),
    ):
        with pytest.raises(service.IllegalTransition):
            act()


def test_progress_notes_from_every_voice_are_attributed(db, people, shared_goal):
    for key in ("student", "preceptor", "patient"):
        service.add_note(people[key], shared_goal, ContributionKind.PROGRESS_NOTE, f"From {key}")
    assert [(c.author_role.value, c.body) for c in shared_goal.contributions] == [
        ("student", "From student"),
        ("preceptor", "From preceptor"),
        ("patient", "From patient"),
    ]


def test_a_preceptor_whose_assignment_ended_cannot_add(db, people, shared_goal):
    from clerkship.models import Assignment

    assignment = db.session.scalar(
        sa.select(Assignment).where(Assignment.preceptor_id == people["preceptor"].id)
    )
    assignment.end_date = clock.today() - timedelta(days=1)
    db.session.flush()
    with pytest.raises(service.GoalError, match="no longer"):
        service.add_note(people["preceptor"], shared_goal, ContributionKind.COMMENT, "Hi")


def test_field_by_field_differences(db, people, shared_goal):
    framework = Framework(code="d", name="D")
    competency = Competency(framework=framework, code="EPA1", title="Gather a history")
    db.session.add(framework)
    db.session.flush()
    service.edit_goal(
        people["student"],
        shared_goal,
        service.GoalText(
            title="Lead a family meeting",
            specific="Lead two meetings about a new diagnosis",
            target_date=clock.today() + timedelta(days=30),
        ),
        [competency],
        seen_version_id=shared_goal.version_id,
    )
    old, new = shared_goal.versions
    diff = {change.field: change for change in changes(old, new)}
    assert set(diff) == {"specific", "target_date", "competencies"}
    assert ("removed", "one") in diff["specific"].segments
    assert ("added", "two") in diff["specific"].segments
    assert diff["competencies"].new == "EPA1 · Gather a history"
