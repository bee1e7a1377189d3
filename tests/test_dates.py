"""Dates have one shape everywhere, in the reader's language (clerkship/dates.py): a walk
through every page each role reaches from its home finds no other date format."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape
from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale

from clerkship import demo
from clerkship.assessments.queries import feedback_label
from clerkship.dates import short_day, show_date, show_datetime
from clerkship.models import PatientFeedback
from tests.conftest import demo_year_app, login, people_by_name

# What the app printed before: ISO days and times, "22/11/2026", "22 Nov" without a year.
OTHER_FORMATS = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul"
    r"|Aug|Sep|Oct|Nov|Dec)\b(?! \d{4})"
)
ONE_FORMAT = re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}\b")


def test_one_shape_in_each_language(app):
    moment = datetime(2026, 11, 22, 10, 5, tzinfo=UTC)
    with app.test_request_context():
        with force_locale("en"):
            assert show_date(date(2026, 11, 22)) == "Nov 22, 2026"
            assert show_date("2026-11-22") == "Nov 22, 2026"
            assert show_datetime(moment).startswith("Nov 22, 2026, 10:05")
            assert show_datetime(moment).endswith("UTC")
            assert show_datetime("2026-11-22 10:05 UTC") == show_datetime(moment)
            assert short_day(date(2026, 11, 22)) == "Nov 22"
        with force_locale("es"):
            assert show_date(date(2026, 11, 22)) == "22 nov 2026"
            assert show_datetime(moment).startswith("22 nov 2026, 10:05")
        assert show_date(None) == show_datetime("") == ""


def test_the_evidence_picker_names_patient_feedback_by_a_date_in_the_readers_language(app):
    feedback = PatientFeedback(created_at=datetime(2026, 11, 22, 10, 5, tzinfo=UTC))
    with app.test_request_context():
        with force_locale("en"):
            assert feedback_label(feedback) == "Patient feedback of Nov 22, 2026"
        with force_locale("es"):
            assert feedback_label(feedback) == "Opinión de paciente del 22 nov 2026"


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def _walk(client, start: str = "/", limit: int = 40) -> dict[str, str]:
    """Every page linked from ``start`` and from the pages it links to (GET, this site)."""
    seen: dict[str, str] = {}
    queue = [start]
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen:
            continue
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            seen[path] = ""
            continue
        html = response.get_data(as_text=True)
        seen[path] = html
        for href in re.findall(r'href="(/[^"#]*)"', html):
            target = urlsplit(unescape(href)).path
            if not target.startswith(("/static", "/sign-out", "/exports")) and target not in seen:
                queue.append(target)
    return seen


@pytest.fixture(scope="module")
def app():
    """One demo year for the module: the walks only read (each test is rolled back)."""
    with demo_year_app("dates", students=3) as app:
        yield app


@pytest.fixture
def demo_people(db):
    return people_by_name()


@pytest.mark.parametrize("role", ["student01", "preceptor01", "director", "admin"])
def test_no_other_date_format_on_the_pages_of_a_role(client, demo_people, role):
    login(client, demo_people[role], demo.DEMO_PASSWORD)
    pages = _walk(client)
    assert len([p for p in pages.values() if p]) >= 5
    dated = 0
    for path, html in pages.items():
        text = _visible_text(html)
        found = OTHER_FORMATS.findall(text)
        assert not found, f"{path}: {found[:5]}"
        dated += bool(ONE_FORMAT.search(text))
    assert dated >= 2  # the walk did see dates, all in the one shape
