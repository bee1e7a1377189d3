"""Issue 16, the patient's part: asked the same way everywhere, withdrawal confirmed, a card
in the patient's language, a remembered language, plain words and the school named."""

from __future__ import annotations

import re

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
        assert re.search(r'<input checked [^>]*name="show_name" type="radio" value="no"', html)
        assert 'aria-describedby="show_name-hint"' in html  # the shared macro's question
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


# --- 2. withdrawal asks first; few answers are met gently ------------------------------------


def test_withdrawal_asks_first_and_keeps_answers_without_confirmation(
    client, db, instrumented, invite
):
    from tests.patients.conftest import full_answers

    invitation, token = invite()
    client.get(f"/p/{token}")
    assert (
        client.post("/p/feedback", data=full_answers(instrumented["instrument"])).status_code
        == 302
    )
    thanks = _html(client.get("/p/thanks"))
    assert 'href="/p/withdraw"' in thanks
    confirm = client.get("/p/withdraw")
    assert confirm.status_code == 200
    assert 'name="confirm" value="yes"' in _html(confirm)
    # A POST without the confirmation (the old one-tap button) withdraws nothing.
    assert client.post("/p/withdraw").status_code == 302
    db.session.refresh(invitation)
    assert invitation.feedback is not None and invitation.withdrawn_at is None
    assert client.post("/p/withdraw", data={"confirm": "yes"}).status_code == 200
    db.session.refresh(invitation)
    assert invitation.withdrawn_at is not None


def test_a_form_mostly_unanswered_is_met_gently_then_sent(client, db, instrumented, invite):
    from clerkship.models import PatientFeedback

    instrument = instrumented["instrument"]
    first = instrument.items[0].key
    _invitation, token = invite()
    client.get(f"/p/{token}")
    form = {f"item-{first}": "4", "show_name": "no", "hope_next": "Keep listening."}
    shown = client.post("/p/feedback", data=form)
    html = _html(shown)
    assert shown.status_code == 200
    assert f"You answered 1 of {len(instrument.items)} questions" in html
    assert "Keep listening." in html and 'name="few_ok" value="yes"' in html
    assert db.session.scalar(select(PatientFeedback)) is None
    assert client.post("/p/feedback", data={**form, "few_ok": "yes"}).status_code == 302
    assert db.session.scalar(select(PatientFeedback)) is not None


# --- 4. the language is remembered; plain words; the school is named -------------------------


def test_the_chosen_language_is_kept_when_the_link_is_reopened(app, db, instrumented, invite):
    _invitation, token = invite()
    first = app.test_client()
    first.get(f"/p/{token}")
    assert '<html lang="en"' in _html(first.get("/p/"))
    first.post("/p/language", data={"lang": "es"})
    assert '<html lang="es"' in _html(first.get("/p/"))
    again = app.test_client()  # another day, another phone
    again.get(f"/p/{token}")
    assert '<html lang="es"' in _html(again.get("/p/"))


def test_patient_pages_name_the_school_in_plain_words(client, db, instrumented, invite):
    mine = instrumented["mine"]
    mine["program"].institution = "Riverbend School of Medicine"
    instrumented["other"]["program"].institution = "Other School"
    db.session.commit()
    _invitation, token = invite()
    client.get(f"/p/{token}")
    for language in ("en", "es"):
        client.post("/p/language", data={"lang": language})
        html = _html(client.get("/p/"))
        assert "Riverbend School of Medicine" in html and "Other School" not in html
        for jargon in (
            "continuity patient",
            "learning record",
            "portfolio",
            "paciente de continuidad",
        ):
            assert jargon not in html.lower(), (language, jargon)


# --- 3. a printable card that speaks to the patient, in their language -----------------------


def _card(client, db, part, language):
    import re

    from clerkship.models import PanelEntry

    part["patient"].preferred_language = language
    db.session.commit()
    entry = db.session.scalar(
        select(PanelEntry).where(PanelEntry.patient_id == part["patient"].id)
    )
    login(client, part["student"])
    made = client.post(
        f"/panel/entries/{entry.id}/invitations", data={f"entry-{entry.id}-purpose": "feedback"}
    )
    page = _html(client.get(made.headers["Location"]))
    card = re.search(r'<section class="patient-card"[^>]*>.*?</section>', page, re.S)
    assert card is not None, "no patient card on the invitation page"
    return page, card.group(0)


def test_invitation_card_speaks_to_the_patient_in_their_language(client, db, instrumented):
    mine, other = instrumented["mine"], instrumented["other"]
    mine["program"].institution = "Riverbend School of Medicine"
    other["program"].institution = "Other School"
    db.session.commit()
    for language, words in (
        ("en", ("Open the camera on your phone", "Your answers do not change your care")),
        ("es", ("Abra la cámara de su teléfono", "Sus respuestas no cambian su atención")),
    ):
        page, card = _card(client, db, mine, language)
        assert f'lang="{language}"' in card.split(">", 1)[0]
        assert "Riverbend School of Medicine" in card and "Other School" not in page
        assert mine["student"].name in card and "<svg" in card and "/p/" in card
        for phrase in words:
            assert phrase in card, (language, phrase)
        # It is addressed to the patient, not to the student.
        assert "Show this to" not in card and "print it" not in card
        client.post("/sign-out")
