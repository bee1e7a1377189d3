"""Input the form fuzzer (tests/test_fuzz_forms.py) found to break pages, kept as plain tests:
bad input never gives a 500 and never loses what the person typed."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from clerkship.models import AuditEvent, GoalVersion, LearningGoal
from tests.conftest import login


def _goals(db) -> int:
    return db.session.scalar(select(func.count()).select_from(LearningGoal))


def test_nul_characters_are_left_out_of_what_is_saved(client, db, student):
    # PostgreSQL refuses NUL in text: this was a 500 there, and everything typed was lost.
    login(client, student)
    response = client.post(
        "/goals/new", data={"title": "Lead a\x00 family meeting", "actions": "\x00Ask\x00"}
    )
    assert response.status_code == 302
    version = db.session.scalar(select(GoalVersion).order_by(GoalVersion.id.desc()))
    assert (version.title, version.actions) == ("Lead a family meeting", "Ask")


def test_a_field_of_only_nul_is_empty_and_comes_back_with_its_message(client, db, student):
    login(client, student)
    before = _goals(db)
    response = client.post("/goals/new", data={"title": "\x00", "specific": "Kept as typed"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Give the goal a short title." in page
    assert "Kept as typed" in page
    assert _goals(db) == before


def test_nul_in_a_field_name_or_the_query_string_is_harmless(client, db, student):
    login(client, student)
    response = client.post("/goals/new?x=%00", data={"ti\x00tle": "Named with a NUL"})
    assert response.status_code == 302
    assert client.get("/verify?id=%00abc").status_code == 404


def test_a_json_body_is_refused_and_writes_nothing(client, db, student):
    # Flask-WTF reads JSON as the form: {"title": 5} or a bare `false` reached len() and
    # .strip() in validators and services (500s on both databases).
    login(client, student)
    before = _goals(db)
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    for body in ({"title": 5}, {"title": {"": None}}, False, [1, 2], "text"):
        response = client.post(
            "/goals/new", data=json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 415, body
    assert _goals(db) == before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_posts_without_a_body_still_work(client, db, student):
    # The keep-alive script posts nothing at all; forms post url-encoded or multipart.
    login(client, student)
    assert client.post("/sign-out").status_code == 302


# Ids the database cannot hold: PostgreSQL's INTEGER refused 10000000000 with an error and
# SQLite anything past 64 bits (500s); now they are ids of nothing.
TOO_BIG = str(10**10)


def test_an_id_too_large_in_a_url_is_not_found(client, db, student):
    login(client, student)
    for path in ("/goals/" + TOO_BIG, "/goals/" + "9" * 30, f"/reflections/{TOO_BIG}/edit"):
        assert client.get(path).status_code == 404, path


def test_program_form_with_ids_too_large(client, db, world):
    mine = world["mine"]
    login(client, mine["director"])
    response = client.post(
        f"/programs/{mine['program'].id}/edit",
        data={"name": "Renamed", "scale_id": TOO_BIG, "framework_ids": [TOO_BIG, "9" * 30]},
    )
    assert response.status_code == 302
    db.session.refresh(mine["program"])
    assert mine["program"].name == "Renamed"
    assert mine["program"].frameworks == []


def test_pairing_with_a_preceptor_id_too_large_asks_for_a_preceptor(client, db, world):
    mine = world["mine"]
    login(client, mine["director"])
    response = client.post(
        f"/students/{mine['student'].id}/pairings",
        data={"preceptor": TOO_BIG, "discipline": "Psychiatry", "start_date": "2026-09-01"},
    )
    assert response.status_code == 400
    assert "Choose a preceptor." in response.get_data(as_text=True)


def test_invitation_for_a_goal_id_too_large_is_refused(client, db, world):
    from clerkship.models import PanelEntry, PatientInvitation

    mine = world["mine"]
    entry = db.session.scalar(
        select(PanelEntry).where(PanelEntry.student_id == mine["student"].id)
    )
    login(client, mine["student"])
    response = client.post(
        f"/panel/entries/{entry.id}/invitations",
        data={f"entry-{entry.id}-purpose": "goal_input", f"entry-{entry.id}-goal": TOO_BIG},
    )
    assert response.status_code == 400  # the panel again, with the reason beside the form
    assert db.session.scalar(select(func.count()).select_from(PatientInvitation)) == 0


def test_sharing_form_sent_with_no_fields_at_all(client, db, world, make_goal):
    # With the CSRF token in the X-CSRFToken header, a body with no fields (or one that is
    # not valid UTF-8, which Werkzeug reads as no fields) reaches the view: Flask-WTF then
    # leaves the checkbox list None, and set(None) was a 500. Now it is "nobody chosen".
    student = world["mine"]["student"]
    goal = make_goal(student)
    login(client, student)
    for body in (b"csrf_token=x", b"", b"\x80"):  # unticking everyone, then no fields
        response = client.post(
            f"/goals/{goal.id}/share", data=body, content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 400  # the form back, as for unticking everyone


def test_instrument_file_that_json_cannot_read_is_a_message(client, db, world):
    # A 6000-digit number passes the JSON grammar but not Python's int limit (ValueError,
    # not JSONDecodeError); deep nesting raises RecursionError. Both were 500s.
    import io

    from clerkship.models import FeedbackInstrument

    mine = world["mine"]
    login(client, mine["director"])
    before = db.session.scalar(select(func.count()).select_from(FeedbackInstrument))
    for content in (b"1" * 6000, b"[" * 100_000):
        response = client.post(
            f"/programs/{mine['program'].id}/instrument",
            data={"file": (io.BytesIO(content), "instrument.json")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 400
        assert "not valid JSON" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(FeedbackInstrument)) == before


def test_goal_title_with_a_line_break_still_tells_the_people_it_is_shared_with(
    app, client, db, world, make_goal
):
    # The title goes into the e-mail subject; "\n", "\x1e" or U+2028 in a header was a
    # ValueError from the email package, so saving the goal was a 500.
    mine = world["mine"]
    goal = make_goal(mine["student"], share_with=[mine["preceptor"]])
    login(client, mine["student"])
    for title in ("Two\nlines", "Record\x1eseparator", "Line\u2028separator"):
        db.session.refresh(goal)
        response = client.post(
            f"/goals/{goal.id}/edit", data={"title": title, "seen_version": goal.version_id}
        )
        assert response.status_code == 302, title
        subject = app.extensions["mail_outbox"][-1]["Subject"]
        assert subject == f"“{' '.join(title.split())}” has a new version"


def test_cohort_name_longer_than_the_column_comes_back_with_a_message(client, db, world):
    # PostgreSQL refused the insert into VARCHAR(100): a 500 there (SQLite stored it).
    from clerkship.models import Cohort

    mine = world["mine"]
    login(client, mine["director"])
    before = db.session.scalar(select(func.count()).select_from(Cohort))
    response = client.post(
        f"/programs/{mine['program'].id}/cohorts/new",
        data={"name": "a" * 101, "start_date": "2026-09-01", "end_date": "2027-06-30"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Keep it under 100 characters." in page
    assert "a" * 101 in page  # what was typed is still there
    assert db.session.scalar(select(func.count()).select_from(Cohort)) == before
