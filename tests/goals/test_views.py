"""Goal pages as people use them: forms, errors beside fields, conflicts, e-mails."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from clerkship import clock
from clerkship.mail import outbox
from clerkship.models import (
    Competency,
    Framework,
    GoalContribution,
    GoalStatus,
    LearningGoal,
    PanelEntry,
)
from tests.conftest import login


@pytest.fixture
def mine(world):
    return world["mine"]


@pytest.fixture
def mails(app):
    box = outbox(app)
    box.clear()
    return box


@pytest.fixture
def competency(db):
    framework = Framework(code="epa-test", name="Core EPAs")
    item = Competency(framework=framework, code="EPA1", title="Gather a history", position=1)
    db.session.add(framework)
    db.session.commit()
    return item


def error_beside(html: str, field: str) -> str | None:
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    return match.group(1) if match else None


def goal_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(LearningGoal))


def test_student_drafts_a_goal(client, db, mine, competency):
    login(client, mine["student"])
    response = client.post(
        "/goals/new",
        data={
            "title": "Lead a family meeting",
            "specific": "Lead one family meeting about a new diagnosis",
            "measure": "Preceptor observes; family says they understood",
            "actions": "Watch two meetings first",
            "target_date": (clock.today() + timedelta(days=60)).isoformat(),
            "competencies": [str(competency.id)],
        },
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Lead a family meeting" in page
    assert "EPA1 · Gather a history" in page
    assert "draft" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "   "}, "title", "Give the goal a short title."),
        ({"title": "x" * 301}, "title", "Field cannot be longer than 300 characters."),
        (
            {"target_date": (clock.today() - timedelta(days=1)).isoformat()},
            "target_date",
            "The target date cannot be in the past.",
        ),
        ({"target_date": "next tuesday"}, "target_date", "Not a valid date value."),
        ({"competencies": ["999999"]}, "competencies", None),
    ],
)
def test_bad_goal_input_comes_back_with_the_message_and_the_text(
    client, db, mine, competency, changes, field, message
):
    login(client, mine["student"])
    data = {
        "title": "Lead a family meeting",
        "specific": "Typed with care <b>and</b> kept",
        "measure": "",
        "actions": "",
    }
    data.update(changes)
    response = client.post("/goals/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    error = error_beside(html, field)
    assert error, html[:2000]
    if message:
        assert error == message
    assert "Typed with care &lt;b&gt;and&lt;/b&gt; kept" in html
    assert goal_count(db) == 0


def test_the_whole_workflow_with_every_voice(client, app, db, mine, mails):
    student, preceptor, patient = mine["student"], mine["preceptor"], mine["patient"]
    patient.email = "patient-mine@example.org"
    db.session.commit()

    login(client, student)
    goal_url = client.post("/goals/new", data={"title": "Explain a new medicine"}).headers[
        "Location"
    ]
    goal_id = int(goal_url.rsplit("/", 1)[1])
    response = client.post(
        f"/goals/{goal_id}/share", data={"people": [str(preceptor.id), str(patient.id)]}
    )
    assert response.status_code == 302
    shared_mail = [m for m in mails if m["To"] == preceptor.email]
    assert shared_mail and f"/goals/{goal_id}" in shared_mail[0].get_content()
    client.post("/sign-out")

    login(client, preceptor)
    assert (
        client.post(
            f"/goals/{goal_id}/suggestions",
            data={"field": "measure", "proposed_text": "Use teach-back and note the result"},
        ).status_code
        == 302
    )
    client.post("/sign-out")
    assert any(m["To"] == student.email and "suggested" in m["Subject"] for m in mails)

    login(client, student)
    suggestion = db.session.scalar(
        select(GoalContribution).where(GoalContribution.goal_id == goal_id)
    )
    assert client.post(f"/goals/{goal_id}/suggestions/{suggestion.id}/accept").status_code == 302
    client.post("/sign-out")

    login(client, preceptor)
    assert client.post(f"/goals/{goal_id}/agree", data={"version": "2"}).status_code == 302
    again = client.post(f"/goals/{goal_id}/agree", data={"version": "2"})
    assert again.status_code == 409
    assert "already agreed" in again.get_data(as_text=True)
    client.post("/sign-out")

    login(client, patient)
    response = client.post(f"/goals/{goal_id}/endorse", data={"endorse_note": "Yes please"})
    assert response.status_code == 302
    client.post("/sign-out")

    login(client, student)
    client.post(
        f"/goals/{goal_id}/notes", data={"kind": "progress_note", "body": "Did it twice today"}
    )
    assert (
        client.post(
            f"/goals/{goal_id}/close",
            data={"outcome": "achieved", "reflection": "Teach-back changed how I explain."},
        ).status_code
        == 302
    )
    page = client.get(f"/goals/{goal_id}").get_data(as_text=True)
    assert "Closed as achieved" in page
    assert "Teach-back changed how I explain." in page
    history = client.get(f"/goals/{goal_id}/history").get_data(as_text=True)
    assert f"from a suggestion by {preceptor.name}" in history
    assert "signature valid" in history
    assert "<ins>Use teach-back and note the result</ins>" in history

    db.session.expire_all()
    goal = db.session.get(LearningGoal, goal_id)
    assert goal.status is GoalStatus.ACHIEVED
    assert [c.kind.value for c in goal.contributions] == [
        "suggestion",
        "agreement",
        "endorsement",
        "progress_note",
    ]
    assert any(m["To"] == patient.email and "agreed" in m["Subject"] for m in mails)


def test_second_editor_gets_a_conflict_page_with_both_versions(client, app, db, mine, make_goal):
    goal = make_goal(mine["student"], title="Original")
    login(client, mine["student"])
    form = client.get(f"/goals/{goal.id}/edit").get_data(as_text=True)
    seen = re.search(r'name="seen_version" type="hidden" value="(\d+)"', form).group(1)

    other_tab = app.test_client()
    login(other_tab, mine["student"])
    first = other_tab.post(
        f"/goals/{goal.id}/edit", data={"title": "Saved in the other tab", "seen_version": seen}
    )
    assert first.status_code == 302

    second = client.post(
        f"/goals/{goal.id}/edit",
        data={"title": "My careful rewording", "specific": "Kept text", "seen_version": seen},
    )
    html = second.get_data(as_text=True)
    assert second.status_code == 409
    assert "Someone else changed this goal" in html
    assert "Saved in the other tab" in html  # theirs
    assert 'value="My careful rewording"' in html  # ours, still typed
    assert "Kept text" in html
    db.session.expire_all()
    assert db.session.get(LearningGoal, goal.id).latest.title == "Saved in the other tab"

    # Saving again from the conflict page is a deliberate overwrite and works.
    fresh = re.search(r'name="seen_version" type="hidden" value="(\d+)"', html).group(1)
    third = client.post(
        f"/goals/{goal.id}/edit", data={"title": "My careful rewording", "seen_version": fresh}
    )
    assert third.status_code == 302


def test_editing_an_agreed_goal_sends_it_back_for_agreement(client, db, mine, make_goal):
    from clerkship.goals import service

    goal = make_goal(mine["student"], share_with=[mine["preceptor"]])
    service.agree(mine["preceptor"], goal)
    db.session.commit()
    login(client, mine["student"])
    response = client.post(
        f"/goals/{goal.id}/edit", data={"title": "Reworded", "seen_version": goal.version_id}
    )
    assert response.status_code == 302
    db.session.expire_all()
    goal = db.session.get(LearningGoal, goal.id)
    assert goal.status is GoalStatus.SHARED
    assert goal.current_version == 2


def test_acting_on_a_closed_goal_is_a_conflict_not_a_crash(client, db, mine, make_goal):
    from clerkship.goals import service

    goal = make_goal(mine["student"], share_with=[mine["preceptor"]])
    service.close_goal(mine["student"], goal, GoalStatus.DROPPED, "Not relevant any more")
    db.session.commit()
    login(client, mine["preceptor"])
    response = client.post(f"/goals/{goal.id}/notes", data={"kind": "comment", "body": "Hm"})
    assert response.status_code == 409
    assert "closed as dropped" in response.get_data(as_text=True)


def test_empty_note_keeps_the_page_and_says_why(client, mine, make_goal):
    goal = make_goal(mine["student"], share_with=[mine["preceptor"]])
    login(client, mine["preceptor"])
    response = client.post(f"/goals/{goal.id}/notes", data={"kind": "comment", "body": "  "})
    assert response.status_code == 400
    assert error_beside(response.get_data(as_text=True), "body") == "Write something first."


def test_patient_whose_panel_ended_can_no_longer_open_the_goal(client, db, mine, make_goal):
    goal = make_goal(mine["student"], share_with=[mine["preceptor"], mine["patient"]])
    entry = db.session.scalar(
        select(PanelEntry).where(PanelEntry.patient_id == mine["patient"].id)
    )
    entry.end_date = clock.today() - timedelta(days=1)
    db.session.commit()
    login(client, mine["patient"])
    assert client.get(f"/goals/{goal.id}").status_code == 404
    assert client.post(f"/goals/{goal.id}/endorse").status_code == 404


def test_a_mail_failure_never_loses_the_action(client, app, db, mine, make_goal, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_SMTP_PORT", 9)  # discard port: nothing listens
    goal = make_goal(mine["student"])
    login(client, mine["student"])
    response = client.post(f"/goals/{goal.id}/share", data={"people": [str(mine["preceptor"].id)]})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(LearningGoal, goal.id).status is GoalStatus.SHARED


def test_home_pages_show_what_awaits_each_voice(client, db, mine, make_goal):
    from clerkship.goals import service

    goal = make_goal(mine["student"], title="Deliver bad news", share_with=[mine["preceptor"]])
    login(client, mine["preceptor"])
    assert "Deliver bad news" in client.get("/").get_data(as_text=True)
    client.post("/sign-out")

    service.suggest(mine["preceptor"], goal, "title", "Deliver difficult news")
    db.session.commit()
    login(client, mine["student"])
    home = client.get("/").get_data(as_text=True)
    assert "1 suggestion to answer" in home


@pytest.mark.parametrize("path", ["/goals/", "/goals/{goal}", "/goals/{goal}/history"])
def test_goal_pages_cost_the_same_queries_at_5_and_50_goals(
    client, db, mine, make_goal, count_queries, path
):
    from clerkship.goals import service
    from clerkship.models import ContributionKind

    def add_goals(n):
        for i in range(n):
            goal = make_goal(mine["student"], title=f"Goal {i}", share_with=[mine["preceptor"]])
            service.add_note(mine["preceptor"], goal, ContributionKind.COMMENT, "Nice")
            service.suggest(mine["preceptor"], goal, "specific", f"Be specific {i}")
        db.session.commit()
        return goal

    goal = add_goals(5)
    url = path.format(goal=goal.id)
    login(client, mine["preceptor"])
    client.get(url)  # warm up: the first request after sign-in differs
    with count_queries() as small:
        assert client.get(url).status_code == 200
    add_goals(45)
    for _ in range(5):
        service.add_note(mine["student"], goal, ContributionKind.PROGRESS_NOTE, "More")
    db.session.commit()
    with count_queries() as large:
        assert client.get(url).status_code == 200
    assert 0 < len(large) == len(small)


def test_student_page_lists_only_the_goals_each_viewer_may_see(client, db, mine, make_goal):
    make_goal(mine["student"], title="Private draft")
    make_goal(mine["student"], title="Shared goal", share_with=[mine["preceptor"]])
    path = f"/students/{mine['student'].id}"
    login(client, mine["director"])
    page = client.get(path).get_data(as_text=True)
    assert "Private draft" in page and "Shared goal" in page
    client.post("/sign-out")
    login(client, mine["preceptor"])
    page = client.get(path).get_data(as_text=True)
    assert "Shared goal" in page and "Private draft" not in page
    client.post("/sign-out")
    login(client, mine["patient"])
    page = client.get(path).get_data(as_text=True)
    assert "Shared goal" not in page and "Private draft" not in page


def _agreements(db, goal_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(GoalContribution)
        .where(GoalContribution.goal_id == goal_id, GoalContribution.kind == "agreement")
    )


def test_agreeing_from_a_page_opened_on_an_older_version_is_refused(client, db, mine, make_goal):
    """The preceptor reads version 1; the student rewords it; the old page must not agree
    to version 2, which the preceptor never saw."""
    goal = make_goal(mine["student"], share_with=[mine["preceptor"]])
    login(client, mine["preceptor"])
    page = client.get(f"/goals/{goal.id}").get_data(as_text=True)
    assert 'name="version" value="1"' in page
    client.post("/sign-out")
    login(client, mine["student"])
    client.post(
        f"/goals/{goal.id}/edit",
        data={"title": "Lead two family meetings", "seen_version": goal.version_id},
    )
    client.post("/sign-out")
    login(client, mine["preceptor"])

    stale = client.post(f"/goals/{goal.id}/agree", data={"version": "1"})

    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "The goal changed while you were reading it" in html
    assert "Lead two family meetings" in html  # the current text is shown
    assert 'name="version" value="2"' in html
    assert _agreements(db, goal.id) == 0
    assert client.post(f"/goals/{goal.id}/agree", data={"version": "2"}).status_code == 302
    assert _agreements(db, goal.id) == 1


def test_an_agree_form_without_a_version_is_refused(client, db, mine, make_goal):
    goal = make_goal(mine["student"], share_with=[mine["preceptor"]])
    login(client, mine["preceptor"])
    assert client.post(f"/goals/{goal.id}/agree", data={}).status_code == 400
    assert _agreements(db, goal.id) == 0
