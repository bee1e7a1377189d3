"""The portfolio PDF read back as text, its structure, and a fetcher that fetches nothing."""

from __future__ import annotations

import io
import subprocess

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from clerkship.assessments import service as assessments
from clerkship.models import AssessmentCycle, CycleStatus, GoalStatus, LearningGoal
from clerkship.portfolios import data as portfolio
from clerkship.portfolios import render
from tests.conftest import demo_year_app, people_by_name


@pytest.fixture(scope="module")
def app():
    """One demo year for the whole module (each test is rolled back to it)."""
    with demo_year_app("pdf", students=3) as app:
        yield app


@pytest.fixture
def demo_year(db):
    return people_by_name()


def _text(pdf: bytes) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, [page.extract_text() for page in reader.pages]


def test_pdf_has_names_signatures_levels_and_structure(app, db, demo_year):
    student = demo_year["student01"]
    data = portfolio.portfolio_data(student)
    result = render.render_pdf(data, "ABCD-EFGH-IJKL-MNOP", "2026-11-22 10:00 UTC")
    reader, pages = _text(result.pdf)
    assert result.pages == len(pages) >= 4
    whole = "\n".join(pages)
    # Cover, table of contents, running header, footer with id and fingerprint, page x of y.
    assert "Competency portfolio" in pages[0] and student.name in pages[0]
    assert "Contents" in pages[1]
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert f"Document ABCD-EFGH-IJKL-MNOP · fingerprint {result.content_hash[:12]}" in text
    assert student.name in pages[2]  # running header from page 2 on
    # Every signed assessment's signature line and levels are there.
    signed = db.session.scalars(
        select(AssessmentCycle).where(
            AssessmentCycle.student_id == student.id,
            AssessmentCycle.status == CycleStatus.SIGNED,
        )
    ).all()
    assert signed
    for cycle in signed:
        assert f"Signed by {cycle.signature.printed_name}" in whole
        assert cycle.signature.content_hash[:20] in whole.replace("\n", "")
        assert cycle.preceptor_assessment.level.label in whole
    agreed = db.session.scalars(
        select(LearningGoal).where(
            LearningGoal.student_id == student.id, LearningGoal.status == GoalStatus.ACHIEVED
        )
    ).all()
    for goal in agreed:
        assert goal.latest.title in whole
    # Tagged for accessibility: language, title, bookmarks per competency.
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en"
    assert "/StructTreeRoot" in root
    assert reader.metadata.title.startswith("Competency portfolio")
    outline_titles = [item.title for item in reader.outline if hasattr(item, "title")]
    assert any(title.startswith("EPA") for title in outline_titles)
    assert "What continuity patients say" in outline_titles


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:9/",
        "https://example.org/x.css",
        "data:text/css,body{}",
        "https://portfolio.clerkship.invalid/etc/passwd",
        "https://portfolio.clerkship.invalid/static/../../../../etc/passwd",
        "https://portfolio.clerkship.invalid/static/%2e%2e/%2e%2e/pyproject.toml",
        "https://portfolio.clerkship.invalid/static/missing.css",
    ],
)
def test_fetcher_refuses_everything_but_static_files(app, url):
    fetcher = render.StaticOnlyFetcher(app.static_folder)
    with pytest.raises(render.RefusedResource):
        fetcher.fetch(url)
    assert fetcher.fetched == []


def test_fetcher_serves_our_stylesheet(app):
    fetcher = render.StaticOnlyFetcher(app.static_folder)
    response = fetcher.fetch("https://portfolio.clerkship.invalid/static/css/portfolio.css")
    assert b"@page" in response.read()
    assert fetcher.fetched == ["/static/css/portfolio.css"]


HOSTILE = (
    '<img src="file:///etc/passwd"> <link rel="stylesheet" href="http://127.0.0.1:9/"> '
    '<style>body{background:url("http://127.0.0.1:9/x.png")}</style> '
    '<svg><image href="file:///etc/hostname"/></svg>'
)


def test_hostile_text_in_every_field_is_printed_never_fetched(app, db, demo_year, monkeypatch):
    student = demo_year["student01"]
    goal = db.session.scalars(
        select(LearningGoal).where(
            LearningGoal.student_id == student.id, LearningGoal.status == GoalStatus.ACHIEVED
        )
    ).first()
    # Writing straight to the rows (a signed record refuses changes through the ORM guard, so
    # the hostile text goes into the data the renderer receives instead).
    goal.closing_reflection = HOSTILE
    goal.latest.title = "Goal " + HOSTILE
    db.session.commit()
    data = portfolio.portfolio_data(student)
    for section in data["competencies"]:
        for cycle in section["assessments"]:
            for field in ("evidence", "went_well", "work_on", "reaction", "plan", "encounter"):
                cycle[field] = HOSTILE
            for addendum in cycle["addenda"]:
                addendum["body"] = HOSTILE
    for response in data["feedback"]["responses"]:
        response["quotes"] = [HOSTILE]
        response["from"] = HOSTILE
    data["reflections"] = [{"title": HOSTILE, "body": HOSTILE, "on": "2026-10-01"}]
    data["student"]["name"] = "Student " + HOSTILE

    seen = []
    original = render.StaticOnlyFetcher.fetch

    def spy(self, url, headers=None):
        seen.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(render.StaticOnlyFetcher, "fetch", spy)
    result = render.render_pdf(data, "ABCD-EFGH-IJKL-MNOP", "2026-11-22 10:00 UTC")
    # The stylesheet is parsed once per worker (render.print_stylesheet), not fetched per
    # document: nothing in the document itself made the fetcher fetch anything.
    assert seen == []
    _reader, pages = _text(result.pdf)
    whole = "".join(pages).replace("\n", "")
    assert 'src="file:///etc/passwd"' in whole  # shown as the words it is
    assert "root:x:0:0" not in whole


def test_a_refused_resource_aborts_the_render(app, db, demo_year, monkeypatch):
    data = portfolio.portfolio_data(demo_year["student01"])
    monkeypatch.setattr(
        render,
        "render_template",
        lambda *a, **k: '<link rel="stylesheet" href="file:///etc/passwd">',
    )
    with pytest.raises(render.RefusedResource):
        render.render_pdf(data, "ABCD-EFGH-IJKL-MNOP", "2026-11-22 10:00 UTC")


def test_tampered_assessment_is_flagged_in_the_portfolio(app, db, demo_year):
    from sqlalchemy import text

    student = demo_year["student01"]
    cycle = db.session.scalars(
        select(AssessmentCycle).where(
            AssessmentCycle.student_id == student.id,
            AssessmentCycle.status == CycleStatus.SIGNED,
        )
    ).first()
    db.session.execute(
        text("UPDATE preceptor_assessment SET work_on = 'Changed later' WHERE cycle_id = :id"),
        {"id": cycle.id},
    )
    db.session.commit()
    db.session.expire_all()
    assert assessments.signature_valid(db.session.get(AssessmentCycle, cycle.id)) is False
    data = portfolio.portfolio_data(student)
    result = render.render_pdf(data, "ABCD-EFGH-IJKL-MNOP", "2026-11-22 10:00 UTC")
    _reader, pages = _text(result.pdf)
    assert "SIGNATURE INVALID" in "".join(pages)


def test_period_filter_narrows_the_portfolio(app, db, demo_year):
    from datetime import date

    student = demo_year["student01"]
    everything = portfolio.portfolio_data(student)
    dates = sorted(a["on"] for s in everything["competencies"] for a in s["assessments"])
    cut = date.fromisoformat(dates[len(dates) // 2])
    later = portfolio.portfolio_data(student, start=cut)
    kept = [a["on"] for s in later["competencies"] for a in s["assessments"]]
    assert kept and all(day >= cut.isoformat() for day in kept)
    assert len(kept) < len(dates)
    assert render.cache_key(later) != render.cache_key(everything)
    assert render.cache_key(portfolio.portfolio_data(student)) == render.cache_key(everything)


def test_only_quotes_the_patient_allowed_reach_the_portfolio(app, db, demo_year):
    from clerkship.models import PatientFeedback

    student = demo_year["student01"]
    responses = db.session.scalars(
        select(PatientFeedback).where(PatientFeedback.student_id == student.id)
    ).all()
    for response in responses:
        response.hope_next = f"Words of response {response.id}"
        response.allow_quotes = response.id % 2 == 0
    db.session.commit()
    data = portfolio.portfolio_data(student)
    quoted = {q for r in data["feedback"]["responses"] for q in r["quotes"]}
    for response in responses:
        assert (f"Words of response {response.id}" in quoted) is response.allow_quotes


def test_the_pdf_carries_a_pades_signature_by_the_school(app, db, demo_year, tmp_path):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from clerkship import pdf_signing
    from clerkship.cli import verify_pdf_command
    from tests.conftest import PDF_SIGNING_CERT

    data = portfolio.portfolio_data(demo_year["student01"])
    pdf = render.render_pdf(data, "ABCD-EFGH-IJKL-MNOP", "2026-11-22 10:00 UTC").pdf

    # pyHanko's own validator, trusting only the school's certificate.
    school = ValidationContext(trust_roots=[load_cert_from_pemder(PDF_SIGNING_CERT)])
    (embedded,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    status = validate_pdf_signature(embedded, school)
    assert status.bottom_line and status.coverage.name == "ENTIRE_FILE"
    assert "Test School" in status.signing_cert.subject.human_friendly
    # Still tagged for accessibility after signing (PDF/UA).
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/Lang"] == "en"

    signed = tmp_path / "portfolio.pdf"
    signed.write_bytes(pdf)
    qpdf = subprocess.run(["qpdf", "--check", str(signed)], capture_output=True, text=True)  # noqa: S603,S607
    assert qpdf.returncode == 0, qpdf.stdout + qpdf.stderr
    runner = app.test_cli_runner()
    assert runner.invoke(verify_pdf_command, [str(signed)]).exit_code == 0

    flipped = bytearray(pdf)
    flipped[len(pdf) // 2] ^= 0x01
    assert not pdf_signing.check(bytes(flipped)).ok
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(flipped))
    result = runner.invoke(verify_pdf_command, [str(tampered)])
    assert result.exit_code == 1 and "invalid" in result.output

    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(b"%PDF-1.7\nnot really\n")
    assert runner.invoke(verify_pdf_command, [str(unsigned)]).exit_code == 1


def test_the_verify_page_checks_the_pdf_signature(app, db, demo_year, client):
    data = portfolio.portfolio_data(demo_year["student01"])
    pdf = render.render_pdf(data, "ABCD-EFGH-IJKL-MNOP", "2026-11-22 10:00 UTC").pdf
    flipped = bytearray(pdf)
    flipped[len(pdf) // 2] ^= 0x01
    for content, expected in ((pdf, "not modified since"), (bytes(flipped), "Signature invalid")):
        page = client.post(
            "/verify",
            data={"id": "", "file": (io.BytesIO(content), "portfolio.pdf")},
            content_type="multipart/form-data",
        )
        assert page.status_code == 200
        assert expected in page.get_data(as_text=True)


def _pdftotext(pdf: bytes, tmp_path) -> str:
    import subprocess

    path = tmp_path / "portfolio.pdf"
    path.write_bytes(pdf)
    return subprocess.run(  # noqa: S603 - poppler's pdftotext, fixed arguments
        ["pdftotext", "-enc", "UTF-8", str(path), "-"],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_every_character_of_a_long_word_reaches_the_pdf(app, db, demo_year, tmp_path):
    """4,000 W's with no space: every one is printed (wrapped, over pages), none cut off."""
    data = portfolio.portfolio_data(demo_year["student01"])
    # Only the reflection matters here: the rest of the year would only slow both renders.
    data["competencies"], data["feedback"]["responses"] = [], []

    def printed_ws(body: str) -> int:
        data["reflections"] = [{"title": "Long", "body": body, "on": "2026-10-01"}]
        result = render.render_pdf(data, "ABCD-EFGH-IJKL-MNOP", "2026-11-22 10:00 UTC")
        return _pdftotext(result.pdf, tmp_path).count("W")

    assert printed_ws("W" * 4000) - printed_ws("") == 4000


def test_signing_and_checking_work_inside_a_running_event_loop(app, db, demo_year):
    """pyHanko's sync calls use asyncio.run(): a caller inside an event loop (Playwright's sync
    API in the browser tests, an async server) once got "asyncio.run() cannot be called from a
    running event loop" and every portfolio failed to render."""
    import asyncio

    from clerkship import pdf_signing

    data = portfolio.portfolio_data(demo_year["student01"])

    async def inside_a_loop():
        pdf = render.render_pdf(data, "ABCD-EFGH-IJKL-MNOP", "2026-11-22 10:00 UTC").pdf
        return pdf_signing.check(pdf)

    assert asyncio.run(inside_a_loop()).ok


def test_fonts_are_subset_by_harfbuzz_not_the_slow_fonttools_fallback(app, db, demo_year, caplog):
    """`make pdf-libs` installs HarfBuzz's subsetter; WeasyPrint's fontTools fallback cost a
    third of every render. The fallback announces itself with a log warning."""
    data = portfolio.portfolio_data(demo_year["student01"])
    with caplog.at_level("WARNING", logger="weasyprint"):
        render.render_pdf(data, "ABCD-EFGH-IJKL-MNOP", "2026-11-22 10:00 UTC")
    assert not [r for r in caplog.records if "fontTools" in r.getMessage()]


def test_contents_give_the_page_each_section_starts_on(app, db, demo_year):
    """The contents list each section with the page its heading is on (a page number in front,
    no leader dots: WeasyPrint drew those one text box per dot), and the "where things stand"
    line sits under the contents, not alone on a page of its own."""
    import re

    data = portfolio.portfolio_data(demo_year["student01"])
    result = render.render_pdf(data, "ABCD-EFGH-IJKL-MNOP", "2026-11-22 10:00 UTC")
    _reader, pages = _text(result.pdf)
    contents = " ".join(pages[1].split())
    titles = [f"{s['code']} · {s['title']}" for s in data["competencies"]]
    titles.append("What continuity patients say")
    assert len(titles) > 2
    for title in titles:
        listed = re.search(rf"(\d+) {re.escape(title)}", contents)
        assert listed, (title, contents)
        page = int(listed.group(1))
        heading_page = " ".join(pages[page - 1].split())
        assert title in heading_page, (title, page)
        assert all(title not in " ".join(p.split()) for p in pages[2 : page - 1]), title
    if data["figures"]:
        assert "Where things stand today" in contents
    assert all("Where things stand today" not in text for text in pages[2:])
