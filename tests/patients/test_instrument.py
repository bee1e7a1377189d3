"""The director switches the program's patient-feedback instrument, from a file or a list."""

from __future__ import annotations

import io
import json
import re

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


def _problems(response) -> str:
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Nothing was changed" in html
    return html


def test_non_text_translations_are_refused_with_where_they_are(client, db, instrumented):
    mine = instrumented["mine"]
    login(client, mine["director"])
    numbers = json.loads(json.dumps(SHORT))
    numbers["items"][1]["prompt"]["es"] = 12345
    numbers["name"] = {"en": "Two", "es": ["a list"]}
    html = _problems(_upload(client, mine["program"].id, json.dumps(numbers).encode()))
    assert "items[2].prompt.es must be text" in html
    assert "name.es must be text" in html


def test_a_900_level_nested_list_is_a_clear_error_not_a_500(client, db, instrumented):
    mine = instrumented["mine"]
    login(client, mine["director"])
    deep = "[" * 900 + "]" * 900
    inside = json.loads(json.dumps(SHORT))
    inside["items"][0]["prompt"]["es"] = "DEEP"
    for where, content in (
        ("", deep),
        ("items[1].prompt.es", json.dumps(inside).replace('"DEEP"', deep)),
    ):
        html = _problems(_upload(client, mine["program"].id, content.encode()))
        assert f"{where}[1][1][1]" in html and "is nested more than 16 levels deep" in html
    db.session.expire_all()
    assert mine["program"].feedback_instrument_id == instrumented["instrument"].id


def test_the_schema_accepts_the_shipped_and_documented_instruments():
    from pathlib import Path

    from clerkship import schemas

    root = Path(__file__).resolve().parents[2]
    shipped = root / "clerkship/data/patient-feedback.json"
    for path in (shipped, root / "docs/examples/instrument.json"):
        assert schemas.problems(json.loads(path.read_text("utf-8")), "instrument") == [], path
    assert schemas.problems({"code": "x"}, "instrument") == ["the file needs name, scale, items"]


def test_a_refused_upload_is_marked_beside_the_file_field_and_the_choice_is_kept(
    client, instrumented
):
    mine = instrumented["mine"]
    login(client, mine["director"])
    chosen = instrumented["instrument"].id
    response = client.post(
        f"/programs/{mine['program'].id}/instrument",
        data={"instrument_id": chosen, "file": (io.BytesIO(b"{not json"), "x.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    file_input = re.search(r'<input[^>]*name="file"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in file_input and "file-error" in file_input
    assert re.search(r'<p class="error" id="file-error">[^<]*JSON', html)
    kept = re.search(rf'<input[^>]*value="{chosen}"[^>]*>', html).group(0)
    assert "checked" in kept


def test_choosing_nothing_is_marked_beside_the_choices(client, instrumented):
    mine = instrumented["mine"]
    login(client, mine["director"])
    response = client.post(f"/programs/{mine['program'].id}/instrument", data={})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(r'<p class="error" id="instrument_id-error">Choose an instrument', html)
    assert 'aria-describedby="instrument_id-error"' in html
