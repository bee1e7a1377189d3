"""/verify for a person holding a printed or e-mailed portfolio: ids as people type them, a
changed file never looks genuine first, and the PDF says where to check it."""

from __future__ import annotations

import io
import re
from pathlib import Path

from sqlalchemy import select

from clerkship import demo
from clerkship.models import ExportDocument
from clerkship.portfolios import render, service
from clerkship.portfolios.service import normalize_document_id
from tests.conftest import login

CSS = (Path(__file__).resolve().parents[2] / "static" / "css" / "app.css").read_text()


def _exported(client, db, demo_year) -> tuple[ExportDocument, bytes]:
    login(client, demo_year["director"], demo.DEMO_PASSWORD)
    client.post(f"/portfolios/{demo_year['student01'].id}/export")
    client.post("/sign-out")
    document = db.session.scalar(select(ExportDocument))
    with client.application.app_context():
        return document, (service.export_dir() / document.path).read_bytes()


def test_ids_are_accepted_as_people_type_them():
    for typed in ("abcd-efgh-ijkl-mnop", "ABCDEFGHIJKLMNOP", " abcd efgh ijkl mnop ", "Abcd–efgh"):
        expected = "ABCD-EFGH-IJKL-MNOP" if len(typed.strip()) > 10 else None
        assert normalize_document_id(typed) == expected
    assert normalize_document_id("x" * 300) is None


def test_lower_case_or_undashed_id_finds_the_document(client, db, demo_year, immediate_queue):
    document, _pdf = _exported(client, db, demo_year)
    for typed in (document.public_id.lower(), document.public_id.replace("-", "")):
        response = client.get("/verify", query_string={"id": typed})
        assert response.status_code == 200, typed
        assert "was issued by this Clerkship site" in response.get_data(as_text=True)


def test_a_changed_file_shows_no_green_verdict_above_the_warning(
    client, db, demo_year, immediate_queue
):
    document, pdf = _exported(client, db, demo_year)
    html = client.post(
        "/verify",
        data={"id": document.public_id, "file": (io.BytesIO(pdf + b"%changed"), "p.pdf")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    warning = html.index("NOT the file that was issued")
    assert "This document was issued by this Clerkship site" not in html
    assert 'class="tag ok"' not in html[:warning]
    assert "belongs to a portfolio issued by this Clerkship site" in html


def test_every_input_on_the_verify_page_is_styled(client, db):
    html = client.get("/verify").get_data(as_text=True)
    types = set(re.findall(r'<input[^>]*type="([a-z]+)"', html)) - {"hidden", "checkbox", "radio"}
    assert types >= {"text", "file"}
    for kind in types:
        assert f'input[type="{kind}"]' in CSS, kind


def test_the_pdf_names_the_verify_address(app, db, demo_year, tmp_path, monkeypatch):
    import subprocess

    from clerkship.portfolios import data as portfolio

    monkeypatch.setitem(app.config, "BASE_URL", "https://lic.example.edu/")
    result = render.render_pdf(
        portfolio.portfolio_data(demo_year["student01"]), "ABCD-EFGH-IJKL-MNOP", "x"
    )
    path = tmp_path / "p.pdf"
    path.write_bytes(result.pdf)
    text = subprocess.run(  # noqa: S603 - poppler's pdftotext, fixed arguments
        ["pdftotext", "-l", "1", str(path), "-"],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "https://lic.example.edu/verify" in text
