"""Reflections: private by default, in the portfolio when the student says so."""

from __future__ import annotations

from sqlalchemy import select

from clerkship.models import Reflection
from tests.conftest import login


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_student_writes_a_private_reflection_then_includes_it(client, db, world, make_goal):
    mine = world["mine"]
    goal = make_goal(mine["student"], title="Listen first")
    login(client, mine["student"])
    response = client.post(
        "/reflections/new",
        data={
            "title": "A hard conversation",
            "body": "I interrupted too early.",
            "goals": [goal.id],
        },
    )
    assert response.status_code == 302
    reflection = db.session.scalar(select(Reflection))
    assert reflection.in_portfolio is False and [g.id for g in reflection.goals] == [goal.id]
    client.post("/sign-out")

    login(client, mine["director"])
    portfolio = _html(client.get(f"/portfolios/{mine['student'].id}"))
    assert "I interrupted too early." not in portfolio
    client.post("/sign-out")

    login(client, mine["student"])
    client.post(
        f"/reflections/{reflection.id}/edit",
        data={
            "title": "A hard conversation",
            "body": "I interrupted too early.",
            "in_portfolio": "y",
        },
    )
    client.post("/sign-out")
    login(client, mine["director"])
    portfolio = _html(client.get(f"/portfolios/{mine['student'].id}"))
    assert "Reflections chosen by the student" in portfolio
    assert "I interrupted too early." in portfolio


def test_bad_input_keeps_the_text_and_others_cannot_edit(client, db, world, make_goal):
    mine, other = world["mine"], world["other"]
    login(client, mine["student"])
    response = client.post("/reflections/new", data={"title": "", "body": "Kept text"})
    assert response.status_code == 400
    assert "Give the reflection a title." in _html(response) and "Kept text" in _html(response)
    foreign_goal = make_goal(other["student"], title="Not mine")
    response = client.post(
        "/reflections/new", data={"title": "t", "body": "b", "goals": [foreign_goal.id]}
    )
    assert response.status_code == 400  # not one of the choices
    client.post("/reflections/new", data={"title": "Mine", "body": "Private words"})
    reflection = db.session.scalar(select(Reflection))
    client.post("/sign-out")
    for outsider in (other["student"], mine["preceptor"], mine["director"]):
        login(client, outsider)
        assert client.get(f"/reflections/{reflection.id}/edit").status_code == 404
        client.post("/sign-out")


def test_a_save_from_another_window_is_shown_beside_the_kept_text(client, db, world):
    login(client, world["mine"]["student"])
    client.post("/reflections/new", data={"title": "Home visit", "body": "First words"})
    reflection = db.session.scalar(select(Reflection))
    opened = reflection.version_id
    data = {"title": "Home visit", "seen_version": opened}
    assert (
        client.post(
            f"/reflections/{reflection.id}/edit", data={**data, "body": "Laptop <b>words</b>"}
        ).status_code
        == 302
    )
    # The phone's form was opened on the first version: saving it would lose the laptop's.
    response = client.post(
        f"/reflections/{reflection.id}/edit", data={**data, "body": "Phone words"}
    )
    assert response.status_code == 409
    page = _html(response)
    assert "What is saved now" in page
    assert "Laptop &lt;b&gt;words&lt;/b&gt;" in page  # what the other window saved, escaped
    assert "Phone words</textarea>" in page  # and what this one typed, not lost
    db.session.expire_all()
    assert reflection.body == "Laptop <b>words</b>"
