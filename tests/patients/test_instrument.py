"""The director switches the program's patient-feedback instrument, from a file or a list."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from clerkship.models import AuditEvent, FeedbackInstrument
from tests.conftest import login

SHORT = {
    "code": "two-questions",
    "name": {"en": "Two questions", "es": "Dos preguntas"},
    "scale": [
        {"value": 1, "label": {"en": "No", "es": "No"}},
        {"value": 2, "label": {"en": "Yes", "es": "Sí"}},
    ],
    "items": [
        {"key": "kind", "prompt": {"en": "Was your student kind?", "es": "¿Fue amable?"}},
        {"key": "clear", "prompt": {"en": "Was your student clear?", "es": "¿Fue claro?"}},
    ],
}


def _upload(client, program_id, content: bytes, name="short.json"):
    return client.post(
        f"/programs/{program_id}/instrument",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_director_uploads_an_instrument_for_their_program(client, db, instrumented):
    mine = instrumented["mine"]
    login(client, mine["director"])
    response = _upload(client, mine["program"].id, json.dumps(SHORT).encode())
    assert response.status_code == 302
    db.session.expire_all()
    assert mine["program"].feedback_instrument.code == "two-questions"
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "program.instrument_changed")
    )
    assert event.actor_id == mine["director"].id


def test_a_bad_file_changes_nothing_and_says_why(client, db, instrumented):
    mine = instrumented["mine"]
    login(client, mine["director"])
    broken = dict(SHORT, items=[{"key": "", "prompt": {}}])
    for content in (b"{not json", json.dumps(broken).encode(), b"\xff\xfe\x00"):
        response = _upload(client, mine["program"].id, content)
        assert response.status_code == 400
        assert "Nothing was changed" in response.get_data(as_text=True)
    db.session.expire_all()
    assert mine["program"].feedback_instrument_id == instrumented["instrument"].id
    assert (
        db.session.scalar(
            select(FeedbackInstrument).where(FeedbackInstrument.code == "two-questions")
        )
        is None
    )


def test_choosing_a_loaded_instrument_and_other_programs_are_404(client, db, instrumented):
    mine, other = instrumented["mine"], instrumented["other"]
    login(client, mine["director"])
    _upload(client, mine["program"].id, json.dumps(SHORT).encode())
    response = client.post(
        f"/programs/{mine['program'].id}/instrument",
        data={"instrument_id": instrumented["instrument"].id},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert mine["program"].feedback_instrument_id == instrumented["instrument"].id
    assert client.get(f"/programs/{other['program'].id}/instrument").status_code == 404
