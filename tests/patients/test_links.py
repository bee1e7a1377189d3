"""Invitation links as a patient meets them: every token rule, both languages, withdrawal."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from clerkship import clock
from clerkship.models import (
    AuditEvent,
    ContributionKind,
    GoalContribution,
    InvitationPurpose,
    PanelEntry,
    PatientFeedback,
    PatientInvitation,
    utcnow,
)
from clerkship.panels import service
from tests.conftest import login
from tests.patients.conftest import full_answers


def _html(response) -> str:
    return response.get_data(as_text=True)


def _entry(db, part) -> PanelEntry:
    return db.session.scalar(
        select(PanelEntry).where(
            PanelEntry.student_id == part["student"].id,
            PanelEntry.patient_id == part["patient"].id,
        )
    )


# --- tokens ----------------------------------------------------------------------------------


def test_token_is_random_and_only_its_hash_is_stored(db, invite):
    first, token = invite()
    _second, other = invite()
    assert len(token) == 32 and token != other  # 24 random bytes = 192 bits, URL-safe
    assert first.token_hash == hashlib.sha256(token.encode()).hexdigest()
    row = db.session.execute(
        text("SELECT * FROM patient_invitation WHERE id = :id"), {"id": first.id}
    ).one()
    assert token not in [str(value) for value in row]
    assert first.expires_at - utcnow() > timedelta(days=13)  # 14 days by default


def test_opening_a_link_starts_a_patient_session_and_hides_the_token(client, db, invite):
    _invitation, token = invite()
    response = client.get(f"/p/{token}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/p/"
    page = client.get("/p/")
    assert page.status_code == 200
    assert token not in _html(page)
    assert 'name="referrer" content="no-referrer"' in _html(page)


@pytest.mark.parametrize(
    "token",
    [
        "A" * 32,  # well-formed but unknown
        "short",  # truncated
        "x" * 200,  # oversized
        "%00%0a<script>",  # forged junk
    ],
)
def test_unknown_forged_and_truncated_links_get_one_friendly_page(client, db, invite, token):
    _invitation, real = invite()
    for attempt in (token, real[:-1]):
        response = client.get(f"/p/{attempt}")
        assert response.status_code == 404
        html = _html(response)
        assert "This link does not work. Please ask your student for a new one." in html
        assert "<script>" not in html


def test_expired_link_speaks_the_patients_language(client, db, instrumented, invite):
    instrumented["mine"]["patient"].preferred_language = "es"
    invitation, token = invite()
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = client.get(f"/p/{token}")
    assert response.status_code == 404
    assert "Este enlace ya caducó" in _html(response)
    assert '<html lang="es">' in _html(response)


def test_revoked_link_stops_at_once_even_mid_session(client, db, instrumented, invite):
    invitation, token = invite()
    client.get(f"/p/{token}")
    service.revoke_invitation(instrumented["mine"]["student"], invitation)
    db.session.commit()
    response = client.get("/p/")
    assert response.status_code == 404
    assert "no longer active" in _html(response)


def test_ended_panel_entry_and_missing_consent(client, db, instrumented, invite):
    mine = instrumented["mine"]
    _invitation, token = invite()
    entry = _entry(db, mine)
    entry.end_date = clock.today() - timedelta(days=1)
    db.session.commit()
    assert client.get(f"/p/{token}").status_code == 404
    entry.end_date = None
    entry.consent_date = None
    db.session.commit()
    response = client.get(f"/p/{token}")
    assert response.status_code == 404
    assert "not active yet" in _html(response)
    with pytest.raises(service.PanelError, match="consent"):
        service.create_invitation(mine["student"], entry, InvitationPurpose.FEEDBACK)


def test_patient_session_cannot_reach_any_other_page(client, db, instrumented, invite, make_goal):
    mine = instrumented["mine"]
    goal = make_goal(mine["student"], share_with=[mine["preceptor"], mine["patient"]])
    _invitation, token = invite()
    client.get(f"/p/{token}")
    for path in (
        "/",
        "/goals/",
        f"/goals/{goal.id}",
        f"/students/{mine['student'].id}",
        f"/panel/{mine['student'].id}/feedback",
        "/assessments/",
        "/account/password",
    ):
        assert client.get(path).status_code == 404, path
    # A feedback link cannot be used on the goal page either.
    response = client.post("/p/goal", data={"view": "hello", "matters": "yes"})
    assert response.status_code == 404
    assert db.session.scalar(select(func.count(GoalContribution.id))) == 0
    static = client.get("/static/css/app.css")
    static.close()  # streamed from an open file
    assert static.status_code == 200


def test_patient_session_times_out(app, client, db, invite):
    _invitation, token = invite()
    client.get(f"/p/{token}")
    with client.session_transaction() as session:
        visit = session["visit"]
        visit["opened"] = (utcnow() - timedelta(minutes=61)).isoformat()
        session["visit"] = visit
    response = client.get("/p/")
    assert response.status_code == 404
    assert "timed out" in _html(response)


def test_bad_tokens_are_rate_limited(client, db, invite):
    codes = [client.get(f"/p/{'B' * 31}{n % 10}").status_code for n in range(21)]
    assert codes[:20] == [404] * 20
    assert codes[20] == 429


# --- answering -------------------------------------------------------------------------------


def test_feedback_is_saved_once_with_its_instrument_version(client, db, instrumented, invite):
    instrument = instrumented["instrument"]
    _invitation, token = invite()
    client.get(f"/p/{token}")
    answers = full_answers(instrument, "5", hope_next="Keep listening", allow_quotes="yes")
    answers[f"item-{instrument.items[0].key}"] = "na"
    response = client.post("/p/feedback", data=answers)
    assert response.status_code == 302
    feedback = db.session.scalar(select(PatientFeedback))
    assert feedback.instrument_id == instrument.id
    assert feedback.hope_next == "Keep listening"
    assert feedback.allow_quotes is True and feedback.show_name is False
    values = sorted((a.value is None, a.value) for a in feedback.answers)
    assert values[-1] == (True, None)  # "does not apply" is kept as no value
    assert len(feedback.answers) == len(instrument.items)
    thanks = _html(client.get("/p/thanks"))
    assert "What happens next" in thanks and "They will not see your name" in thanks
    again = client.post("/p/feedback", data=answers)
    assert again.status_code == 400
    assert db.session.scalar(select(func.count(PatientFeedback.id))) == 1
    # Opening the link again shows the thank-you page, not a new form.
    client.get(f"/p/{token}")
    assert "Take my answers back" in _html(client.get("/p/"))


def test_answers_outside_the_scale_and_empty_and_too_long(client, db, instrumented, invite):
    instrument = instrumented["instrument"]
    _invitation, token = invite()
    client.get(f"/p/{token}")
    first = instrument.items[0].key
    response = client.post(
        "/p/feedback", data={f"item-{first}": "9", "show_name": "no", "hope_next": "Typed text"}
    )
    assert response.status_code == 400
    html = _html(response)
    assert "Please choose one of the answers." in html
    assert "Typed text" in html
    empty = client.post("/p/feedback", data={"show_name": "no"})
    assert empty.status_code == 400
    assert "Please answer at least one question" in _html(empty)
    long_text = "a" * 2001
    too_long = client.post("/p/feedback", data={"show_name": "no", "anything_else": long_text})
    assert too_long.status_code == 400
    assert "at most 2000 letters" in _html(too_long)
    assert long_text in _html(too_long)
    no_choice = client.post("/p/feedback", data=full_answers(instrument, show_name=""))
    assert no_choice.status_code == 400
    assert db.session.scalar(select(func.count(PatientFeedback.id))) == 0


def test_spanish_and_english_and_switching(client, db, instrumented, invite):
    instrumented["mine"]["patient"].preferred_language = "es"
    db.session.commit()
    _invitation, token = invite()
    client.get(f"/p/{token}")
    spanish = _html(client.get("/p/"))
    assert '<html lang="es">' in spanish
    assert "Mi estudiante me escuchó." in spanish
    assert "No aplica" in spanish and "Enviar mis respuestas" in spanish
    client.post("/p/language", data={"lang": "en"})
    english = _html(client.get("/p/"))
    assert '<html lang="en">' in english
    assert "My student listened to me." in english and "Does not apply" in english
    client.post("/p/language", data={"lang": "es"})
    client.post("/p/feedback", data=full_answers(instrumented["instrument"]))
    assert db.session.scalar(select(PatientFeedback.language)) == "es"
    assert "¡Gracias!" in _html(client.get("/p/thanks"))


def test_withdrawal_removes_the_answers_and_audits_without_content(
    client, db, instrumented, invite
):
    invitation, token = invite()
    client.get(f"/p/{token}")
    client.post(
        "/p/feedback", data=full_answers(instrumented["instrument"], anything_else="Secret words")
    )
    response = client.post("/p/withdraw", data={"confirm": "yes"})
    assert response.status_code == 200
    assert "Your answers were removed" in _html(response)
    assert db.session.scalar(select(func.count(PatientFeedback.id))) == 0
    db.session.refresh(invitation)
    assert invitation.withdrawn_at is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "feedback.withdrawn"))
    assert event is not None
    assert "Secret words" not in str(event.before) + str(event.after)
    # After expiry the same link can no longer withdraw (or do anything else).
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.post("/p/withdraw", data={"confirm": "yes"}).status_code == 404


def test_goal_input_joins_the_thread_as_the_patient(client, db, instrumented, invite, make_goal):
    mine = instrumented["mine"]
    goal = make_goal(mine["student"], share_with=[mine["preceptor"], mine["patient"]])
    _invitation, token = invite(InvitationPurpose.GOAL_INPUT, goal=goal)
    client.get(f"/p/{token}")
    page = _html(client.get("/p/"))
    assert goal.latest.title in page
    assert client.post("/p/feedback", data={"show_name": "no"}).status_code == 404
    empty = client.post("/p/goal", data={"view": ""})
    assert empty.status_code == 400
    response = client.post(
        "/p/goal", data={"view": "Please explain slowly.", "matters": "yes", "show_name": "no"}
    )
    assert response.status_code == 302
    thread = db.session.scalars(
        select(GoalContribution).where(GoalContribution.goal_id == goal.id)
    ).all()
    kinds = {(c.kind, c.author_id) for c in thread}
    assert (ContributionKind.COMMENT, mine["patient"].id) in kinds
    assert (ContributionKind.ENDORSEMENT, mine["patient"].id) in kinds
    assert client.post("/p/goal", data={"view": "again"}).status_code == 400  # single use


def test_goal_link_needs_an_open_goal_shared_with_that_patient(db, instrumented, make_goal):
    from clerkship.goals import service as goals
    from clerkship.models import GoalStatus

    mine = instrumented["mine"]
    unshared = make_goal(mine["student"], share_with=[mine["preceptor"]])
    closed = make_goal(mine["student"], share_with=[mine["preceptor"], mine["patient"]])
    goals.close_goal(mine["student"], closed, GoalStatus.DROPPED, "Not now")
    for goal in (unshared, closed):
        with pytest.raises(service.PanelError) as raised:
            service.create_invitation(
                mine["student"], _entry(db, mine), InvitationPurpose.GOAL_INPUT, goal=goal
            )
        assert raised.value.field == "goal"


def test_a_signed_in_person_opening_a_link_is_signed_out(app, client, db, instrumented, invite):
    _invitation, token = invite()
    login(client, instrumented["mine"]["director"])
    left_behind = client.get_cookie("session").value
    client.get(f"/p/{token}")
    replay = app.test_client()  # the director's old cookie no longer opens anything
    replay.set_cookie("session", left_behind)
    assert replay.get("/").status_code == 302
    assert client.get("/").status_code == 404  # confined to the patient's page now
    client.post("/p/finish")
    assert client.get("/").status_code == 302  # signed out: the home page asks to sign in


def test_invitation_rows_record_who_and_what(db, instrumented, invite):
    invitation, _token = invite()
    stored = db.session.get(PatientInvitation, invitation.id)
    assert stored.patient_id == instrumented["mine"]["patient"].id
    assert stored.student_id == instrumented["mine"]["student"].id
    assert stored.purpose is InvitationPurpose.FEEDBACK
    assert service.invitation_state(stored) == "open"


def test_a_link_opened_before_expiry_takes_the_answers_for_a_grace_period(
    app, client, db, instrumented, invite
):
    instrument = instrumented["instrument"]
    invitation, token = invite()
    client.get(f"/p/{token}")
    assert "feedback" in _html(client.get("/p/"))
    # The link expires while the patient is typing (opened 10 minutes ago, before expiry).
    opened = utcnow() - timedelta(minutes=10)
    with client.session_transaction() as session:
        visit = session["visit"]
        visit["opened"] = opened.isoformat()
        session["visit"] = visit
    invitation.expires_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    response = client.post("/p/feedback", data=full_answers(instrument, "4"))
    assert response.status_code == 302, _html(response)
    assert "What happens next" in _html(client.get("/p/thanks"))
    assert db.session.scalar(select(func.count(PatientFeedback.id))) == 1
    # Only answers: the form itself, and anything after the grace, are refused.
    assert client.get("/p/").status_code == 404
    grace = app.config["PATIENT_LINK_GRACE_MINUTES"]
    invitation.expires_at = utcnow() - timedelta(minutes=grace + 1)
    db.session.commit()
    assert client.post("/p/feedback", data=full_answers(instrument, "4")).status_code == 404


def test_a_link_opened_after_expiry_gets_no_grace(client, db, instrumented, invite):
    invitation, token = invite()
    client.get(f"/p/{token}")
    invitation.expires_at = utcnow() - timedelta(minutes=30)  # before the page was opened
    db.session.commit()
    response = client.post("/p/feedback", data=full_answers(instrumented["instrument"], "4"))
    assert response.status_code == 404
    assert db.session.scalar(select(func.count(PatientFeedback.id))) == 0


def test_i_am_done_ends_the_patient_session_on_the_server(app, client, db, instrumented, invite):
    _invitation, token = invite()
    client.get(f"/p/{token}")
    client.post("/p/feedback", data=full_answers(instrumented["instrument"]))
    copied = client.get_cookie("session").value
    client.post("/p/finish")
    replay = app.test_client()  # someone who copied the cookie before "I am done"
    replay.set_cookie("session", copied)
    thanks = replay.get("/p/thanks")
    assert thanks.status_code == 404
    assert "You have finished" in _html(thanks)
    assert replay.post("/p/withdraw", data={"confirm": "yes"}).status_code == 404
    assert db.session.scalar(select(func.count(PatientFeedback.id))) == 1
    # The link itself still opens a new page (to see or withdraw the answers).
    client.get(f"/p/{token}")
    assert client.get("/p/thanks").status_code == 200


def test_withdrawal_ends_the_patient_session_on_the_server(app, client, db, instrumented, invite):
    _invitation, token = invite()
    client.get(f"/p/{token}")
    client.post("/p/feedback", data=full_answers(instrumented["instrument"]))
    copied = client.get_cookie("session").value
    assert client.post("/p/withdraw", data={"confirm": "yes"}).status_code == 200
    replay = app.test_client()
    replay.set_cookie("session", copied)
    assert replay.get("/p/").status_code == 404
    assert client.get("/p/").status_code == 404  # the browser that withdrew is closed too
