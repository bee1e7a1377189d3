"""The administrator's import page: upload, preview per node, confirm; all or nothing."""

import io
import json
import re
from pathlib import Path

from sqlalchemy import func, select

from clerkship.models import Competency, Framework
from tests.conftest import login

FILES = Path(__file__).parent / "files"


def _upload(client, raw: bytes, name: str):
    return client.post(
        "/frameworks/import",
        data={"file": (io.BytesIO(raw), name)},
        content_type="multipart/form-data",
    )


def test_admin_previews_then_confirms_a_ctdl_asn_file(
    app, db, client, admin, monkeypatch, tmp_path
):
    monkeypatch.setattr("clerkship.roster.pending._folder", lambda: tmp_path)
    login(client, admin)
    raw = (FILES / "ctdl-v1.jsonld").read_bytes()
    preview = _upload(client, raw, "milestones.jsonld")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "8 new, 0 updated, 0 unchanged, 0 retired, 0 with errors" in html
    assert 'class="depth-4"' in html  # the tree, five levels deep
    assert db.session.scalar(select(func.count()).select_from(Competency)) == 0  # preview only
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    done = client.post("/frameworks/import/confirm", data={"token": token})
    assert done.status_code == 302
    framework = db.session.scalar(select(Framework))
    assert done.headers["Location"].endswith(f"/frameworks/{framework.id}")
    assert len(framework.competencies) == 8
    page = client.get(f"/frameworks/{framework.id}").get_data(as_text=True)
    assert "Shares the plan" in page and "CTDL-ASN" in page
    exported = client.get(f"/frameworks/{framework.id}/export/case.json")
    assert len(json.loads(exported.data)["CFItems"]) == 8
    # The token is spent: a second confirm imports nothing again.
    again = client.post("/frameworks/import/confirm", data={"token": token})
    assert again.status_code == 302 and again.headers["Location"].endswith("/frameworks/import")


def test_a_file_with_problems_shows_them_and_cannot_be_confirmed(db, client, admin):
    login(client, admin)
    data = json.loads((FILES / "case-v1.json").read_text("utf-8"))
    data["CFItems"][1]["language"] = "fr"
    data["CFItems"][2]["humanCodingScheme"] = "C" * 101
    response = _upload(client, json.dumps(data).encode(), "case.json")
    html = response.get_data(as_text=True)
    assert "2 with errors" in html
    assert "an English text is needed" in html
    assert "code is longer than 100 characters" in html
    assert 'name="token"' not in html
    broken = _upload(client, b"{not json", "x.json")
    assert broken.status_code == 400 and "not valid JSON" in broken.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Framework)) == 0


def test_directors_may_not_import(db, client, director):
    login(client, director)
    assert client.get("/frameworks/import").status_code == 404
