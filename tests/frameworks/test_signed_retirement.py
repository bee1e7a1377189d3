"""A newer version of a framework retires a competency that signed records point at and
rewords another: every signature stays valid, and what was signed (the snapshot, its hash,
the goal version's competency labels) is unchanged byte for byte."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from sqlalchemy import select

from clerkship import signed_content
from clerkship.assessments import service as assessments
from clerkship.frameworks import planner, reading
from clerkship.goals import service as goals
from clerkship.integrity import service as integrity
from clerkship.models import CycleStatus, Framework, Signature
from tests.conftest import login

FILES = Path(__file__).parent / "files"
ICS_01 = "ce-17000000-0000-0000-0000-000000000008"
PC_01_3 = "ce-17000000-0000-0000-0000-000000000006"


def _import(document: dict) -> planner.Plan:
    the_plan = planner.plan(reading.parse_file(json.dumps(document).encode(), "v.jsonld"))
    planner.apply(the_plan, file_name="v.jsonld")
    return the_plan


def _newer(first: dict) -> dict:
    """Version 2027.1: ICS-01 is gone (retired, never deleted) and PC-01.3 is reworded."""
    newer = copy.deepcopy(first)
    graph = newer["@graph"]
    graph[0]["ceasn:versionCode"] = "2027.1"
    graph[:] = [node for node in graph if not node["@id"].endswith(ICS_01)]
    for node in graph:
        if "ceasn:hasChild" in node:
            node["ceasn:hasChild"] = [c for c in node["ceasn:hasChild"] if not c.endswith(ICS_01)]
            if not node["ceasn:hasChild"]:
                node.pop("ceasn:hasChild")
        if node["@id"].endswith(PC_01_3):
            node["ceasn:competencyLabel"] = {"en-us": "Agrees the plan with the patient"}
            node["ceasn:competencyText"] = {"en-us": "Agrees the plan with the patient"}
    return newer


def _signatures(db) -> dict[int, tuple]:
    return {
        s.id: (json.dumps(s.snapshot, sort_keys=True), s.content_hash, s.value, s.key_id)
        for s in db.session.scalars(select(Signature))
    }


def test_retiring_and_rewording_signed_competencies_keeps_every_signature(
    db,
    client,
    scaled,
    make_cycle,
):
    first = json.loads((FILES / "ctdl-v1.jsonld").read_text("utf-8"))
    _import(first)
    framework = db.session.scalar(select(Framework).where(Framework.version == "2026.1"))
    scaled["mine"]["program"].frameworks = [framework]
    db.session.commit()
    nodes = {c.uri.rsplit("/", 1)[-1]: c for c in framework.competencies}
    student, preceptor = scaled["mine"]["student"], scaled["mine"]["preceptor"]

    # Signed records on both nodes: an agreed goal linking them, and a signed assessment.
    goal = goals.create_goal(
        student,
        goals.GoalText(title="Agree plans at home visits"),
        [nodes[ICS_01], nodes[PC_01_3]],
    )
    goals.share_goal(student, goal, [preceptor])
    agreement = goals.agree(preceptor, goal)
    db.session.commit()
    cycle = make_cycle(CycleStatus.SIGNED, competency=nodes[ICS_01])
    old_title = nodes[PC_01_3].title
    old_labels = list(goal.latest.competencies)
    assert any(old_title in label for label in old_labels)
    before = _signatures(db)
    assert len(before) == 2

    the_plan = _import(_newer(first))
    assert (the_plan.count(planner.NEW), the_plan.count(planner.UPDATED)) == (0, 1)
    assert the_plan.count(planner.RETIRED) == 1
    db.session.commit()
    db.session.expire_all()

    assert nodes[ICS_01].retired is True  # kept: the records still point at it
    assert nodes[PC_01_3].title == "Agrees the plan with the patient"
    assert _signatures(db) == before  # not one byte of what was signed changed
    assert goals.agreement_is_valid(goal, agreement) is True
    assert assessments.signature_valid(cycle) is True
    assert goal.latest.competencies == old_labels  # the version keeps the words agreed to
    labels = signed_content.labels_of(cycle.signature)
    assert labels["competency"]["code"] == "ICS-01"
    check = integrity.full_check()
    assert check.ok and check.signatures == 2, check.problems

    # Pages say so too: the goal and the assessment show no broken signature.
    login(client, student)
    for url in (f"/goals/{goal.id}", f"/assessments/{cycle.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "SIGNATURE INVALID" not in html and "nvalid" not in html, url
    # And a retired node is no longer offered for new records.
    new_goal = client.get("/goals/new").get_data(as_text=True)
    assert "Listens and checks understanding" not in new_goal
