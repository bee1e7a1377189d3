"""The goal, assessment and evidence pickers: the program's chosen tree only, retired nodes
hidden, and a search that works without JavaScript (the Search button sends the form back;
the page returns filtered, with everything typed and ticked, and nothing is saved)."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from clerkship import picker
from clerkship.frameworks import planner, reading
from clerkship.models import AssessmentCycle, Competency, Framework, LearningGoal
from tests.conftest import login

FILES = Path(__file__).parent / "files"
ITEM = re.compile(r'<li data-label="([^"]*)"( hidden)?>\s*<label[^>]*><input type="(\w+)"([^>]*)>')


@pytest.fixture
def milestones(db, scaled):
    """ "mine" assesses against the five-level test framework only."""
    raw = (FILES / "ctdl-v1.jsonld").read_bytes()
    planner.apply(planner.plan(reading.parse_file(raw, "ctdl-v1.jsonld")), file_name="t")
    framework = db.session.scalar(select(Framework).where(Framework.version == "2026.1"))
    scaled["mine"]["program"].frameworks = [framework]
    db.session.commit()
    scaled["nodes"] = {c.code: c for c in framework.competencies}
    return scaled


def _items(html: str) -> dict[str, dict]:
    """The picker's boxes by code: shown or hidden, ticked or not, checkbox or radio."""
    found = {}
    for label, hidden, kind, attrs in ITEM.findall(html):
        code = unescape(label).split(" · ")[0]
        found[code] = {"shown": not hidden, "ticked": " checked" in attrs, "kind": kind}
    return found


def _shown(html: str) -> set[str]:
    return {code for code, item in _items(html).items() if item["shown"]}


def test_the_goal_picker_is_the_chosen_tree_nested_with_retired_nodes_left_out(
    db, client, milestones
):
    nodes = milestones["nodes"]
    nodes["ICS-01"].retired = True
    db.session.commit()
    login(client, milestones["mine"]["student"])
    html = client.get("/goals/new").get_data(as_text=True)
    items = _items(html)
    assert set(items) == set(nodes) - {"ICS-01"}  # the chosen framework only, retired gone
    assert all(i["shown"] and i["kind"] == "checkbox" for i in items.values())
    shipped = db.session.scalar(select(func.count()).select_from(Competency)) - len(nodes)
    assert shipped > 10  # the shipped frameworks are there, and not offered
    # Nested as in the framework: the level sits four lists deep under its domain.
    level = "MEDBIQ-PC-01-SUB-02-BEHAVIOUR-03-LEVEL-4"
    before = html[: html.index(f'data-label="{level}')]
    assert before.count("<ul") - before.count("</ul>") == 5  # the group's list + 4 levels
    assert "(behaviour)" in html and 'src="/static/js/tree-picker.js' in html


def test_search_without_javascript_keeps_what_was_typed_and_ticked_and_saves_nothing(
    db, client, milestones
):
    nodes = milestones["nodes"]
    login(client, milestones["mine"]["student"])
    response = client.post(
        "/goals/new",
        data={
            "title": "Ask better questions",
            "specific": "In every home visit",
            "competencies": [nodes["ICS-01"].id],
            "q": "OPEN questions",
            "search": "1",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(LearningGoal)) == 0
    assert 'value="Ask better questions"' in html and "In every home visit" in html
    assert 'value="OPEN questions"' in html
    # The match, its place in the tree, what it holds — and the ticked box (with its place),
    # though it does not match.
    assert _shown(html) == {
        "PC",
        "PC-01",
        "PC-01.2",
        "ce-17000000-0000-0000-0000-000000000004",
        "MEDBIQ-PC-01-SUB-02-BEHAVIOUR-03-LEVEL-4",
        "ICS",
        "ICS-01",
    }
    assert _items(html)["ICS-01"]["ticked"] and not _items(html)["PC-01.3"]["shown"]
    assert "7 of 8 shown" in html
    assert "form-errors" not in html  # a search is not a refused form

    # Then saved from the same page: the goal is made with the ticked competency.
    saved = client.post(
        "/goals/new",
        data={"title": "Ask better questions", "competencies": [nodes["ICS-01"].id], "q": "x"},
    )
    assert saved.status_code == 302
    goal = db.session.scalar(select(LearningGoal))
    assert [c.code for c in goal.competencies] == ["ICS-01"]


def test_a_get_search_filters_and_a_search_finding_nothing_says_so(db, client, milestones):
    login(client, milestones["mine"]["student"])
    html = client.get("/goals/new?q=listens").get_data(as_text=True)
    assert _shown(html) == {"ICS", "ICS-01"}  # the match and where it sits
    whole = client.get("/goals/new?q=interpersonal").get_data(as_text=True)
    assert _shown(whole) == {"ICS", "ICS-01"}  # a domain found shows what it holds
    nothing = client.get("/goals/new?q=zzzz").get_data(as_text=True)
    assert _shown(nothing) == set() and "Nothing matches" in nothing


def test_editing_keeps_a_linked_competency_retired_since(db, client, milestones):
    nodes = milestones["nodes"]
    login(client, milestones["mine"]["student"])
    client.post("/goals/new", data={"title": "Listen", "competencies": [nodes["ICS-01"].id]})
    goal = db.session.scalar(select(LearningGoal))
    nodes["ICS-01"].retired = True
    db.session.commit()
    html = client.get(f"/goals/{goal.id}/edit").get_data(as_text=True)
    assert _items(html)["ICS-01"]["ticked"]
    edited = client.post(
        f"/goals/{goal.id}/edit",
        data={
            "title": "Listen well",
            "competencies": [nodes["ICS-01"].id],
            "seen_version": goal.version_id,
        },
    )
    assert edited.status_code == 302
    db.session.refresh(goal)
    assert [c.code for c in goal.competencies] == ["ICS-01"]


def test_the_assessment_picker_is_the_same_tree_as_radio_buttons(db, client, milestones):
    nodes = milestones["nodes"]
    login(client, milestones["mine"]["student"])
    html = client.get("/assessments/new").get_data(as_text=True)
    items = _items(html)
    assert set(items) == set(nodes) and {i["kind"] for i in items.values()} == {"radio"}
    searched = client.post(
        "/assessments/new",
        data={
            "person": milestones["mine"]["preceptor"].id,
            "competency": nodes["PC-01.3"].id,
            "encounter": "Home visit, Tuesday",
            "q": "listens",
            "search": "1",
        },
    ).get_data(as_text=True)
    assert _shown(searched) == {"ICS", "ICS-01", "PC", "PC-01", "PC-01.3"}
    assert _items(searched)["PC-01.3"]["ticked"] and "Home visit, Tuesday" in searched
    assert db.session.scalar(select(func.count()).select_from(AssessmentCycle)) == 0
    started = client.post(
        "/assessments/new",
        data={
            "person": milestones["mine"]["preceptor"].id,
            "competency": nodes["ICS-01"].id,
            "encounter": "Home visit, Tuesday",
        },
    )
    assert started.status_code == 302
    assert db.session.scalar(select(AssessmentCycle)).competency.code == "ICS-01"


def test_the_evidence_picker_uses_the_same_tree_and_search(db, client, milestones, make_cycle):
    student = milestones["mine"]["student"]
    login(client, student)
    for title in ("Break bad news", "Examine the knee"):
        client.post("/goals/new", data={"title": title})
    cycle = make_cycle(competency=milestones["nodes"]["ICS-01"])
    page = client.get(f"/assessments/{cycle.id}/self").get_data(as_text=True)
    assert 'id="evidence-picker"' in page and "Your learning goals" in page
    searched = client.post(
        f"/assessments/{cycle.id}/self",
        data={"evidence": "Two visits", "q": "knee", "search": "1"},
    ).get_data(as_text=True)
    shown = re.findall(r'<li data-label="([^"]*?) ?">', searched)
    assert shown == ["Examine the knee"] and "Two visits" in searched
    assert cycle.self_assessment is None or cycle.self_assessment.submitted_at is None


def test_the_search_rule():
    tree = [
        picker.Node(1, "Atención al paciente", [picker.Node(2, "Historia clínica")]),
        picker.Node(
            3, "Comunicación", [picker.Node(4, "Escucha"), picker.Node(5, "Malas noticias")]
        ),
    ]
    groups = picker.search([picker.Group(None, "Marco", tree)], "ATENCION")
    assert [n.shown for n in tree] == [True, False] and tree[0].children[0].shown
    picker.search(groups, "noticias", ticked=[4])
    assert [tree[1].shown, tree[1].children[0].shown, tree[1].children[1].shown] == [True] * 3
    assert not tree[0].shown and picker.count(groups) == 3 and picker.count(groups, False) == 5
    picker.search(groups, "marco")  # the group's own name shows all of it
    assert picker.count(groups) == 5
    assert json.dumps(picker.words("  Clínica   HISTORIA ")) == '["clinica", "historia"]'
