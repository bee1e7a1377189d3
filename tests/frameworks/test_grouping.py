"""The portfolio (page and PDF) and the calibration page group competencies by the framework
tree: the frameworks' reading order, each top node (a domain) heading the nodes under it."""

from __future__ import annotations

import io
import re
from html import unescape
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from clerkship.frameworks import planner, reading
from clerkship.goals import service as goals
from clerkship.models import CycleStatus, Framework
from clerkship.portfolios import data as portfolio
from clerkship.portfolios import render
from tests.conftest import login

FILES = Path(__file__).parent / "files"
BEHAVIOUR = "ce-17000000-0000-0000-0000-000000000004"
PC_01 = "PC-01 · Gathers a history and examines the patient"


@pytest.fixture
def records(db, scaled, make_cycle):
    """Signed assessments on a deep node and a second domain's node, out of tree order, and
    an agreed goal on a third node; a revealed (not signed) cycle for calibration."""
    raw = (FILES / "ctdl-v1.jsonld").read_bytes()
    planner.apply(planner.plan(reading.parse_file(raw, "ctdl-v1.jsonld")), file_name="t")
    framework = db.session.scalar(select(Framework).where(Framework.version == "2026.1"))
    scaled["mine"]["program"].frameworks = [framework]
    db.session.commit()
    nodes = {c.code: c for c in framework.competencies}
    make_cycle(CycleStatus.SIGNED, competency=nodes["ICS-01"])
    make_cycle(CycleStatus.SIGNED, competency=nodes[BEHAVIOUR])
    make_cycle(CycleStatus.REVEALED, competency=nodes["PC"])
    student, preceptor = scaled["mine"]["student"], scaled["mine"]["preceptor"]
    goal = goals.create_goal(
        student, goals.GoalText(title="Plan with families"), [nodes["PC-01.3"]]
    )
    goals.share_goal(student, goal, [preceptor])
    goals.agree(preceptor, goal)
    db.session.commit()
    return scaled


def _headings(html: str) -> list[str]:
    found = re.findall(r"<(h[23]|p class=\"trail[^\"]*\")[^>]*>(.*?)</(?:h[23]|p)>", html, re.S)
    return [
        f"{tag[:2].strip()} {unescape(re.sub(r'<[^>]+>', '', text)).strip()}"
        for tag, text in found
    ]


def test_portfolio_data_is_in_tree_order_with_the_path_of_each_section(db, records):
    data = portfolio.portfolio_data(records["mine"]["student"])
    rows = [
        (s["code"], [a["code"] for a in s["path"]], s["group"]["code"])
        for s in data["competencies"]
    ]
    assert rows == [
        (BEHAVIOUR, ["PC", "PC-01", "PC-01.2"], "PC"),
        ("PC-01.3", ["PC", "PC-01"], "PC"),
        ("ICS-01", ["ICS"], "ICS"),
    ]


def test_the_portfolio_page_and_pdf_group_by_domain(db, client, records):
    login(client, records["mine"]["director"])
    student = records["mine"]["student"]
    html = client.get(f"/portfolios/{student.id}").get_data(as_text=True)
    body = html[html.index('class="portfolio"') :]
    assert _headings(body)[:7] == [
        "h2 PC · Patient Care",
        f"p {PC_01} › PC-01.2 · Adapts the history to the visit ›",
        f"h3 {BEHAVIOUR} · Asks open questions before closed ones",
        f"p {PC_01} ›",
        "h3 PC-01.3 · Shares the plan",
        "h2 ICS · Interpersonal and Communication Skills",
        "h3 ICS-01 · Listens and checks understanding",
    ]
    start = html.index('class="panel toc"')
    contents = html[start : html.index("</nav>", start)]
    assert re.search(r"Patient Care</a><ul>\s*<li><a[^>]*>" + BEHAVIOUR, contents)

    result = render.render_pdf(portfolio.portfolio_data(student), "ABCD-EFGH-IJKL-MNOP", "x")
    reader = PdfReader(io.BytesIO(result.pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    body_text = text[text.rindex("PC · Patient Care") :]
    positions = [
        body_text.index(s)
        for s in (
            "PC · Patient Care",
            "Asks open questions",
            "Shares the plan",
            "ICS · Interpersonal",
        )
    ]
    assert positions == sorted(positions)

    # The bookmarks nest the same way: a domain, the competencies in it.
    def titles(items):
        return [titles(i) if isinstance(i, list) else i.title for i in items]

    outline = titles(reader.outline)
    domain = outline.index("PC · Patient Care")
    assert outline[domain + 1] == [
        f"{BEHAVIOUR} · Asks open questions before closed ones",
        "PC-01.3 · Shares the plan",
    ]


def test_calibration_groups_by_domain(db, client, records):
    login(client, records["mine"]["director"])
    student = records["mine"]["student"]
    html = client.get(f"/assessments/calibration/{student.id}").get_data(as_text=True)
    main = html[html.index("<h1") :]
    assert _headings(main) == [
        "h2 PC · Patient Care",  # charted itself: the domain heads its own panel
        f"p {PC_01} › PC-01.2 · Adapts the history to the visit ›",
        f"h3 {BEHAVIOUR} · Asks open questions before closed ones",
        "h2 ICS · Interpersonal and Communication Skills",
        "h3 ICS-01 · Listens and checks understanding",
    ]
