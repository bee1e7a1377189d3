"""Issue 16, the patient's part: asked the same way everywhere, withdrawal confirmed, a card
in the patient's language, a remembered language, plain words and the school named."""

from __future__ import annotations

from sqlalchemy import select

from clerkship.models import GoalContribution, InvitationPurpose
from tests.conftest import login


def _html(response) -> str:
    return response.get_data(as_text=True)


# --- 1. the name under a patient's words: asked, default not shown ---------------------------


def _goal_view(client, invite, goal, **form):
    _invitation, token = invite(InvitationPurpose.GOAL_INPUT, goal=goal)
    client.get(f"/p/{token}")
    page = _html(client.get("/p/"))
    response = client.post("/p/goal", data={"view": "Please explain slowly.", **form})
    return page, response


def test_goal_link_asks_about_the_name_like_the_feedback_form(
    client, db, instrumented, invite, make_goal
):
    mine = instrumented["mine"]
    _invitation, token = invite()
    client.get(f"/p/{token}")
    feedback_form = _html(client.get("/p/"))
    goal = make_goal(mine["student"], share_with=[mine["preceptor"], mine["patient"]])
    goal_form, _ = _goal_view(client, invite, goal, show_name="no")
    # The same question and answers, "No" chosen until the patient changes it.
    for html in (feedback_form, goal_form):
        assert f"May {mine['student'].name} see that this is from you?" in html
        assert 'name="show_name" value="no" checked' in html
        assert f"Yes — show my name, {mine['patient'].name}" in html


def test_goal_view_shows_a_patient_not_their_name_unless_they_chose(
    client, db, instrumented, invite, make_goal
):
    mine = instrumented["mine"]
    goal = make_goal(mine["student"], share_with=[mine["preceptor"], mine["patient"]])
    _page, response = _goal_view(client, invite, goal, show_name="no")
    assert response.status_code == 302
    comment = db.session.scalar(
        select(GoalContribution).where(GoalContribution.goal_id == goal.id)
    )
    assert comment is not None and comment.show_name is False

    client.post("/p/finish")
    login(client, mine["preceptor"])
    thread = _html(client.get(f"/goals/{goal.id}"))
    assert "Please explain slowly." in thread
    assert "A patient" in thread
    assert mine["patient"].name not in thread.split('id="thread"')[-1]


def test_goal_view_shows_the_name_when_the_patient_says_yes(
    client, db, instrumented, invite, make_goal
):
    mine = instrumented["mine"]
    goal = make_goal(mine["student"], share_with=[mine["preceptor"], mine["patient"]])
    _page, response = _goal_view(client, invite, goal, show_name="yes", matters="yes")
    assert response.status_code == 302
    client.post("/p/finish")
    login(client, mine["student"])
    thread = _html(client.get(f"/goals/{goal.id}")).split('id="thread"')[-1]
    assert mine["patient"].name in thread


def test_goal_link_without_a_name_choice_keeps_the_words(
    client, db, instrumented, invite, make_goal
):
    mine = instrumented["mine"]
    goal = make_goal(mine["student"], share_with=[mine["preceptor"], mine["patient"]])
    _page, response = _goal_view(client, invite, goal)
    assert response.status_code == 400
    assert "Please explain slowly." in _html(response)
    assert (
        db.session.scalar(select(GoalContribution).where(GoalContribution.goal_id == goal.id))
        is None
    )
