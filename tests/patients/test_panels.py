"""The staff side: panels, invitation links and QR codes, seeing and removing feedback."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from clerkship import clock
from clerkship.models import (
    AuditEvent,
    PanelEntry,
    PatientFeedback,
    PatientInvitation,
    Role,
    User,
)
from tests.conftest import login
from tests.patients.conftest import full_answers


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_student_adds_a_patient_without_clinical_fields(client, db, instrumented):
    mine = instrumented["mine"]
    login(client, mine["student"])
    page = _html(client.get(f"/panel/{mine['student'].id}"))
    for clinical in ("diagnos", "record number", "MRN", "date of birth"):
        assert f'name="{clinical}' not in page
    response = client.post(
        f"/panel/{mine['student'].id}/patients",
        data={"name": "Mrs. A.", "language": "es", "email": "", "consent_date": ""},
    )
    assert response.status_code == 302
    patient = db.session.scalar(select(User).where(User.name == "Mrs. A."))
    assert patient.role is Role.PATIENT and patient.preferred_language == "es"
    entry = db.session.scalar(select(PanelEntry).where(PanelEntry.patient_id == patient.id))
    assert entry.consent_date is None
    # No consent yet: the panel says so, and no invitation can be made.
    assert "No consent recorded yet" in _html(client.get(f"/panel/{mine['student'].id}"))
    refused = client.post(
        f"/panel/entries/{entry.id}/invitations", data={f"entry-{entry.id}-purpose": "feedback"}
    )
    assert refused.status_code == 400  # the panel again, with the reason
    assert db.session.scalar(select(func.count(PatientInvitation.id))) == 0


def test_bad_patient_input_keeps_what_was_typed(client, db, instrumented):
    mine = instrumented["mine"]
    login(client, mine["student"])
    future = (clock.today() + timedelta(days=3)).isoformat()
    response = client.post(
        f"/panel/{mine['student'].id}/patients",
        data={"name": "Mr. B.", "language": "en", "email": "not-an-email", "consent_date": future},
    )
    assert response.status_code == 400
    html = _html(response)
    assert "does not look like an e-mail address" in html
    assert 'value="Mr. B."' in html
    response = client.post(
        f"/panel/{mine['student'].id}/patients",
        data={"name": "Mr. B.", "language": "en", "consent_date": future},
    )
    assert response.status_code == 400
    assert "Consent cannot be dated in the future." in _html(response)
    assert db.session.scalar(select(func.count(User.id)).where(User.name == "Mr. B.")) == 0


def test_one_patient_on_two_panels_by_email(client, db, instrumented, make_user):
    from clerkship.models import Enrollment

    mine = instrumented["mine"]
    second_student = make_user(Role.STUDENT)
    db.session.add(Enrollment(cohort_id=mine["cohort"].id, student_id=second_student.id))
    db.session.commit()
    login(client, mine["director"])
    for student in (mine["student"], second_student):
        response = client.post(
            f"/panel/{student.id}/patients",
            data={
                "name": "Ms. C.",
                "language": "en",
                "email": "ms.c@example.org",
                "consent_date": clock.today().isoformat(),
            },
        )
        assert response.status_code == 302
    patient = db.session.scalar(select(User).where(User.email == "ms.c@example.org"))
    entries = db.session.scalars(select(PanelEntry).where(PanelEntry.patient_id == patient.id))
    assert {e.student_id for e in entries} == {mine["student"].id, second_student.id}


def test_invitation_shows_link_and_qr_once(client, db, instrumented):
    mine = instrumented["mine"]
    entry = db.session.scalar(
        select(PanelEntry).where(PanelEntry.patient_id == mine["patient"].id)
    )
    login(client, mine["student"])
    response = client.post(
        f"/panel/entries/{entry.id}/invitations",
        data={f"entry-{entry.id}-purpose": "feedback", f"entry-{entry.id}-send_email": "y"},
    )
    assert response.status_code == 302
    first = _html(client.get(response.headers["Location"]))
    assert "<svg" in first  # the QR code, inline
    token = re.search(r"/p/([A-Za-z0-9_-]{32})", first).group(1)
    second = _html(client.get(response.headers["Location"]))
    assert token not in second
    assert "shown once" in second
    # The e-mail went to the patient with the same link.
    from clerkship.mail import outbox

    sent = outbox(client.application)
    assert sent and sent[-1]["To"] == mine["patient"].email
    assert token in sent[-1].get_content()
    # And the link works.
    client.post("/sign-out")
    assert client.get(f"/p/{token}").status_code == 302


def test_invitations_for_another_students_patient_are_404(client, db, instrumented):
    other = instrumented["other"]
    entry = db.session.scalar(
        select(PanelEntry).where(PanelEntry.patient_id == other["patient"].id)
    )
    login(client, instrumented["mine"]["student"])
    assert client.post(f"/panel/entries/{entry.id}/invitations").status_code == 404
    assert client.get(f"/panel/{other['student'].id}").status_code == 404


def test_director_revokes_a_link(client, db, instrumented, invite):
    invitation, token = invite()
    login(client, instrumented["mine"]["director"])
    response = client.post(f"/panel/invitations/{invitation.id}/revoke")
    assert response.status_code == 302
    db.session.refresh(invitation)
    assert invitation.revoked_at is not None
    client.post("/sign-out")
    assert client.get(f"/p/{token}").status_code == 404


def _answer(client, token, instrument, value="4", **extra):
    client.get(f"/p/{token}")
    response = client.post("/p/feedback", data=full_answers(instrument, value, **extra))
    assert response.status_code == 302
    client.post("/p/finish")


def test_name_is_shown_only_when_the_patient_chose_so(client, db, instrumented, invite):
    mine = instrumented["mine"]
    patient_name = mine["patient"].name
    _inv, token = invite()
    _answer(client, token, instrumented["instrument"], show_name="no", hope_next="Anonymous hope")
    for reader in (mine["student"], mine["preceptor"], mine["director"]):
        login(client, reader)
        html = _html(client.get(f"/panel/{mine['student'].id}/feedback"))
        assert "Anonymous hope" in html and "A continuity patient" in html
        assert patient_name not in html
        client.post("/sign-out")

    _inv, token = invite()
    _answer(client, token, instrumented["instrument"], "2", show_name="yes")
    login(client, mine["student"])
    html = _html(client.get(f"/panel/{mine['student'].id}/feedback"))
    assert patient_name in html
    assert 'class="spark"' in html  # a trend line for the named patient


def test_others_cannot_read_a_students_feedback(client, db, instrumented, invite):
    _inv, token = invite()
    _answer(client, token, instrumented["instrument"], hope_next="Private words")
    mine, other = instrumented["mine"], instrumented["other"]
    for reader in (other["preceptor"], other["director"], mine["patient"], instrumented["admin"]):
        login(client, reader)
        response = client.get(f"/panel/{mine['student'].id}/feedback")
        assert response.status_code == 404
        client.post("/sign-out")


def test_director_removes_a_response_on_request(client, db, instrumented, invite):
    _inv, token = invite()
    _answer(client, token, instrumented["instrument"], anything_else="Please delete this")
    feedback = db.session.scalar(select(PatientFeedback))
    login(client, instrumented["mine"]["student"])
    assert client.post(f"/panel/feedback/{feedback.id}/remove").status_code == 404
    client.post("/sign-out")
    login(client, instrumented["mine"]["director"])
    confirm = client.get(f"/panel/feedback/{feedback.id}/remove")
    assert "Remove this response?" in _html(confirm)
    assert db.session.scalar(select(func.count(PatientFeedback.id))) == 1
    assert client.post(f"/panel/feedback/{feedback.id}/remove").status_code == 302
    assert db.session.scalar(select(func.count(PatientFeedback.id))) == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "feedback.removed"))
    assert event is not None and "Please delete this" not in str(event.after)


def test_answers_keep_their_instrument_version(db, client, instrumented, invite):
    from clerkship.models import FeedbackInstrument, FeedbackItem

    _inv, token = invite()
    _answer(client, token, instrumented["instrument"])
    newer = FeedbackInstrument(
        code="other",
        version=1,
        name={"en": "Other"},
        scale=[{"value": 1, "label": {"en": "No"}}, {"value": 2, "label": {"en": "Yes"}}],
        items=[FeedbackItem(key="kind", position=1, prompt={"en": "Was your student kind?"})],
    )
    instrumented["mine"]["program"].feedback_instrument = newer
    db.session.commit()
    _inv, token = invite()
    client.get(f"/p/{token}")
    assert "Was your student kind?" in _html(client.get("/p/"))
    client.post("/p/feedback", data={"item-kind": "2", "show_name": "no"})
    client.post("/p/finish")
    versions = db.session.scalars(
        select(PatientFeedback.instrument_id).order_by(PatientFeedback.id)
    )
    assert list(versions) == [instrumented["instrument"].id, newer.id]
    login(client, instrumented["mine"]["student"])
    html = _html(client.get(f"/panel/{instrumented['mine']['student'].id}/feedback"))
    assert "My student listened to me." in html and "Was your student kind?" in html


def test_edit_entry_records_consent_and_keeps_typed_text(client, db, instrumented):
    mine = instrumented["mine"]
    login(client, mine["student"])
    client.post(
        f"/panel/{mine['student'].id}/patients",
        data={"name": "Mr. D.", "language": "en", "email": "", "consent_date": ""},
    )
    entry = db.session.scalar(
        select(PanelEntry)
        .join(User, User.id == PanelEntry.patient_id)
        .where(User.name == "Mr. D.")
    )
    bad = client.post(
        f"/panel/entries/{entry.id}",
        data={"name": "Mr. D. Renamed", "language": "en", "email": "nope", "consent_date": ""},
    )
    assert bad.status_code == 400
    assert 'value="Mr. D. Renamed"' in _html(bad)
    today = clock.today().isoformat()
    ok = client.post(
        f"/panel/entries/{entry.id}",
        data={"name": "Mr. D.", "language": "es", "email": "", "consent_date": today},
    )
    assert ok.status_code == 302
    db.session.refresh(entry)
    assert entry.consent_date == clock.today() and entry.patient.preferred_language == "es"
    # Now an invitation can be made for him.
    response = client.post(
        f"/panel/entries/{entry.id}/invitations", data={f"entry-{entry.id}-purpose": "feedback"}
    )
    assert response.headers["Location"].startswith("/panel/invitations/")


def test_invitation_link_qr_and_email_come_from_base_url_not_the_host(client, db, instrumented):
    from tests.conftest import TEST_PASSWORD

    mine = instrumented["mine"]
    entry = db.session.scalar(
        select(PanelEntry).where(PanelEntry.patient_id == mine["patient"].id)
    )
    evil = "http://evil.example"
    client.post(
        "/sign-in",
        data={"email": mine["student"].email, "password": TEST_PASSWORD},
        base_url=evil,
    )
    response = client.post(
        f"/panel/entries/{entry.id}/invitations",
        data={f"entry-{entry.id}-purpose": "feedback", f"entry-{entry.id}-send_email": "y"},
        base_url=evil,
    )
    assert response.status_code == 302
    page = _html(client.get(response.headers["Location"], base_url=evil))
    base = client.application.config["BASE_URL"]
    link = re.search(r'href="(http[^"]*/p/[A-Za-z0-9_-]{32})"', page).group(1)
    assert link.startswith(base + "/p/") and "evil.example" not in page
    from clerkship.mail import outbox

    assert link in outbox(client.application)[-1].get_content()
    assert "evil.example" not in outbox(client.application)[-1].get_content()
