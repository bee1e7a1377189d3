"""CTDL-ASN and CASE 1.1 files (written from the published terms, tests/frameworks/files/)
and Clerkship's own CSV: trees, per-node problems, re-import, new versions, round trips."""

import copy
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from clerkship import seeds
from clerkship.frameworks import export, planner, reading
from clerkship.models import AuditEvent, Competency, Framework

FILES = Path(__file__).parent / "files"
CODE40 = "MEDBIQ-PC-01-SUB-02-BEHAVIOUR-03-LEVEL-4"


def _load(name: str) -> dict:
    return json.loads((FILES / name).read_text("utf-8"))


def _plan(data: dict, name: str = "file.json") -> planner.Plan:
    return planner.plan(reading.parse_file(json.dumps(data).encode(), name))


def _import(data: dict, name: str = "file.json") -> planner.Plan:
    the_plan = _plan(data, name)
    planner.apply(the_plan, file_name=name)
    return the_plan


def _counts(the_plan: planner.Plan) -> tuple[int, ...]:
    statuses = (planner.NEW, planner.UPDATED, planner.UNCHANGED, planner.RETIRED, planner.ERROR)
    return tuple(the_plan.count(s) for s in statuses)


def _tree(code: str) -> list[tuple]:
    framework = _framework(code)
    return [
        (
            depth,
            c.code,
            c.uri,
            c.node_type,
            c.title,
            c.description,
            c.parent.uri if c.parent else None,
        )
        for depth, c in planner.tree(framework)
    ]


def _framework(code: str) -> Framework:
    from clerkship.extensions import db

    return db.session.scalar(select(Framework).where(Framework.code == code))


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_ctdl_asn_file_imports_as_a_tree(db):
    the_plan = _import(_load("ctdl-v1.jsonld"), "ctdl-v1.jsonld")
    assert _counts(the_plan) == (8, 0, 0, 0, 0)
    framework = _framework("ce-17000000-0000-0000-0000-000000000000")
    assert framework.uri.endswith("ce-17000000-0000-0000-0000-000000000000")
    assert framework.version == "2026.1"
    assert framework.name == "Example clerkship milestones"  # English of a two-language map
    tree = _tree(framework.code)
    assert max(depth for depth, *_ in tree) == 4  # domain → … → level: five levels
    codes = [code for _, code, *_ in tree]
    assert codes[:3] == ["PC", "PC-01", "PC-01.2"]
    # No codedNotation: the 39-character CTID is the code; a 40-character code is kept whole.
    assert "ce-17000000-0000-0000-0000-000000000004" in codes
    assert CODE40 in codes
    level = next(row for row in tree if row[1] == CODE40)
    assert level[3] == "level" and level[6].endswith("000000000004")
    shares = next(row for row in tree if row[1] == "PC-01.3")
    assert shares[4] == "Shares the plan" and len(shares[5]) > 300


def test_reimport_changes_nothing_and_a_new_version_updates_adds_and_retires(db):
    first = _load("ctdl-v1.jsonld")
    _import(first)
    events = _count(db, AuditEvent)
    again = _import(first)
    assert _counts(again) == (0, 0, 8, 0, 0)
    assert _count(db, AuditEvent) == events  # nothing happened, nothing recorded

    newer = copy.deepcopy(first)
    graph = newer["@graph"]
    graph[0]["ceasn:versionCode"] = "2027.1"
    graph[8]["ceasn:competencyText"] = {"en-us": "Listens, then checks understanding"}
    dropped = graph.pop(5)  # the level node, a leaf
    graph[4].pop("ceasn:hasChild")
    added = copy.deepcopy(graph[7])  # ICS-01, after the pop
    added["@id"] = added["@id"][:-4] + "0099"
    added["ceasn:codedNotation"] = "ICS-02"
    added["ceasn:competencyText"] = {"en-us": "Gives bad news kindly"}
    graph.append(added)
    the_plan = _import(newer)
    assert _counts(the_plan) == (1, 1, 6, 1, 0)
    stored = {
        c.code: c for c in _framework("ce-17000000-0000-0000-0000-000000000000").competencies
    }
    assert stored[dropped["ceasn:codedNotation"]].retired is True  # kept, not deleted
    assert stored["ICS-01"].title == "Listens, then checks understanding"
    assert stored["ICS-02"].parent.code == "ICS"
    assert _framework("ce-17000000-0000-0000-0000-000000000000").version == "2027.1"
    assert _count(db, Competency) == 9


def test_case_package_imports_as_a_tree(db):
    the_plan = _import(_load("case-v1.json"))
    assert _counts(the_plan) == (6, 0, 0, 0, 0)
    tree = _tree("example-prof")
    assert [(depth, code) for depth, code, *_ in tree] == [
        (0, "PROF"),
        (1, "PROF-1"),
        (2, "PROF-1.1"),
        (3, "PROF-1.1.a"),
        (4, "PROF-1.1.a-L4"),
        (0, CODE40),
    ]
    assert len(tree[4][4]) > 300
    assert tree[3][3] == "behaviour"
    assert _counts(_import(_load("case-v1.json"))) == (0, 0, 6, 0, 0)


def _row(the_plan, code):
    return next(row for row in the_plan.rows if row.code == code)


def test_problems_are_reported_per_node_and_nothing_is_written(db):
    data = _load("ctdl-v1.jsonld")
    graph = data["@graph"]
    graph[2]["ceasn:competencyText"] = {"fr": "Recueille l'anamnèse", "es": "Toma la historia"}
    graph[3]["ceasn:codedNotation"] = "X" * 101
    graph[4]["ceasn:competencyText"] = {"en": "y" * 2001}
    graph[8]["ceasn:competencyText"] = {"en-us": "Interpersonal and communication skills"}
    graph[8]["ceasn:isChildOf"] = []  # both at the top level, same words
    graph[7].pop("ceasn:hasChild")
    graph[7]["ceasn:competencyText"] = {"en-us": "interpersonal and  Communication Skills"}
    the_plan = _plan(data)
    assert not the_plan.ok
    assert "no English text (only es, fr)" in " ".join(_row(the_plan, "PC-01").messages)
    assert "code is longer than 100 characters" in _row(the_plan, "X" * 101).messages
    overlong = _row(the_plan, "ce-17000000-0000-0000-0000-000000000004")
    assert "title is longer than 2000 characters" in overlong.messages
    duplicate = _row(the_plan, "ICS-01")
    assert duplicate.status == planner.ERROR
    assert "the same text as" in " ".join(duplicate.messages)
    with pytest.raises(planner.PlanRefused) as refused:
        planner.apply(the_plan)
    report = refused.value.report("file.json")
    assert "competency 2 (PC-01): competency text: no English text" in report
    assert _count(db, Framework) == 0 and _count(db, Competency) == 0


def test_a_missing_parent_is_a_warning_and_the_node_stays_at_the_top(db):
    data = _load("ctdl-v1.jsonld")
    data["@graph"][8]["ceasn:isChildOf"] = ["https://elsewhere.example.org/ce-gone"]
    data["@graph"][7].pop("ceasn:hasChild")
    the_plan = _import(data)
    row = _row(the_plan, "ICS-01")
    assert row.status == planner.NEW
    assert "is not in the file; kept at the top level" in " ".join(row.messages)
    assert _framework("ce-17000000-0000-0000-0000-000000000000").competencies
    stored = db.session.scalar(select(Competency).where(Competency.code == "ICS-01"))
    assert stored.parent_id is None


def test_an_overlong_framework_code_is_a_message_not_a_database_error(app, db, tmp_path):
    data = _load("ctdl-v1.jsonld")
    data["@graph"][0]["ceterms:ctid"] = "c" * 94
    path = tmp_path / "long.jsonld"
    path.write_text(json.dumps(data))
    result = app.test_cli_runner().invoke(args=["import-framework", str(path)])
    assert result.exit_code == 1
    assert "framework code is longer than 50 characters" in result.output
    assert _count(db, Framework) == 0


@pytest.mark.parametrize("kind", ["ctdl-asn", "case"])
@pytest.mark.parametrize("source", ["ctdl-v1.jsonld", "case-v1.json"])
def test_export_then_import_on_an_empty_database_gives_the_same_tree(db, kind, source):
    _import(_load(source))
    framework = db.session.scalar(select(Framework))
    code, uri, version = framework.code, framework.uri, framework.version
    before = _tree(code)
    exported = export.to_ctdl(framework) if kind == "ctdl-asn" else export.to_case(framework)
    json.dumps(exported)  # plain JSON
    assert _counts(_plan(exported)) == (0, 0, len(before), 0, 0)  # same as what is stored

    for competency in sorted(framework.competencies, key=lambda c: -c.position):
        competency.parent_id = None
    db.session.flush()
    db.session.delete(framework)
    db.session.flush()
    assert _count(db, Framework) == _count(db, Competency) == 0

    _import(exported)
    assert _tree(code) == before
    again = _framework(code)
    assert (again.uri, again.version) == (uri, version)


def test_cli_import_and_export(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-framework", str(FILES / "case-v1.json")])
    assert result.exit_code == 0, result.output
    assert "(CASE 1.1): 6 competencies (6 new, 0 updated), 0 unchanged, 0 retired" in result.output
    exported = runner.invoke(args=["export-framework", "example-prof", "--format", "ctdl-asn"])
    assert exported.exit_code == 0
    graph = json.loads(exported.output)["@graph"]
    assert graph[0]["@type"] == "ceasn:CompetencyFramework" and len(graph) == 7
    missing = runner.invoke(args=["export-framework", "nope"])
    assert missing.exit_code == 1


def test_own_csv_with_uri_and_parent(db, tmp_path):
    text = (
        "framework_code,code,uri,parent,type,title\n"
        "fw,D1,https://x.example/D1,,domain,Domain one\n"
        "fw,C1,https://x.example/C1,D1,,Child by code\n"
        "fw,C2,https://x.example/C2,https://x.example/C1,behaviour,Grandchild by URI\n"
    )
    path = tmp_path / "fw.csv"
    path.write_text(text)
    seeds.import_framework_file(path)
    assert [(d, c) for d, c, *_ in _tree("fw")] == [(0, "D1"), (1, "C1"), (2, "C2")]


def test_shipped_frameworks_have_uris_and_types(app, db):
    seeds.load_shipped()
    acgme = _framework(seeds.ACGME_FRAMEWORK_CODE)
    assert acgme.uri == "urn:clerkship:framework:acgme-domains"
    assert {c.node_type for c in acgme.competencies} == {"domain"}
    assert all(c.uri and c.uri.startswith(acgme.uri) for c in acgme.competencies)
    epas = _framework(seeds.EPA_FRAMEWORK_CODE)
    assert epas.version == "2014" and len(epas.competencies) == 13
