"""Shipped frameworks, the scale and the patient instrument; imports that are all-or-nothing."""

import json

import pytest
from sqlalchemy import func, select

from clerkship import seeds
from clerkship.models import (
    AuditEvent,
    Competency,
    EntrustmentLevel,
    FeedbackInstrument,
    FeedbackItem,
    Framework,
)


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_shipped_data_loads_once(app, db):
    result = run(app, "seed")
    assert result.exit_code == 0, result.output
    epas = db.session.scalar(select(Framework).where(Framework.code == seeds.EPA_FRAMEWORK_CODE))
    assert [c.code for c in epas.competencies] == [f"EPA{i}" for i in range(1, 14)]
    assert epas.competencies[0].title == "Gather a history and perform a physical examination"
    acgme = db.session.scalar(
        select(Framework).where(Framework.code == seeds.ACGME_FRAMEWORK_CODE)
    )
    assert [c.code for c in acgme.competencies] == ["PC", "MK", "PBLI", "ICS", "PROF", "SBP"]
    scale = seeds.default_scale()
    assert [level.label for level in scale.levels] == [
        "Observe only",
        "Act with direct supervision",
        "Act with indirect supervision",
        "Act without supervision (practice ready)",
        "Could supervise others",
    ]
    instrument = seeds.default_instrument()
    assert instrument.version == 1
    assert len(instrument.items) == 6
    assert all(set(item.prompt) == {"en", "es"} for item in instrument.items)
    assert all(set(option["label"]) == {"en", "es"} for option in instrument.scale)

    before = [count(db, m) for m in (Framework, Competency, EntrustmentLevel, FeedbackInstrument)]
    assert run(app, "seed").exit_code == 0
    after = [count(db, m) for m in (Framework, Competency, EntrustmentLevel, FeedbackInstrument)]
    assert before == after == [2, 19, 5, 1]


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_import_copes_with_real_spreadsheets(app, db, tmp_path):
    path = write(
        tmp_path,
        "comm.csv",
        "Title ; Code ;framework_code; Colour\r\n"
        "  Open the visit ;COM1; comm ;blue\r\n"
        "Check understanding;COM2;comm;red\r\n"
        "Check understanding;COM2;comm;red\r\n"
        "\r\n",
        encoding="utf-8-sig",
    )
    result = run(app, "import-framework", str(path))
    assert result.exit_code == 0, result.output
    assert "2 competencies (2 new, 0 updated)" in result.output
    assert "ignored unknown column(s): colour" in result.output
    assert "row 4: repeats row 3; skipped" in result.output
    framework = db.session.scalar(select(Framework).where(Framework.code == "comm"))
    assert [(c.code, c.title) for c in framework.competencies] == [
        ("COM1", "Open the visit"),
        ("COM2", "Check understanding"),
    ]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "framework.imported"))

    again = run(app, "import-framework", str(path))
    assert "(0 new, 0 updated)" in again.output
    assert count(db, Competency) == 2


def test_reimport_updates_in_place(app, db, tmp_path):
    header = "framework_code,framework_name,code,title\n"
    run(app, "import-framework", str(write(tmp_path, "a.csv", header + "fw,FW,A1,Old title\n")))
    result = run(
        app, "import-framework", str(write(tmp_path, "b.csv", header + "fw,FW,A1,New title\n"))
    )
    assert "(0 new, 1 updated)" in result.output
    assert db.session.scalar(select(Competency.title)) == "New title"
    assert count(db, Competency) == 1


def test_excel_windows_1252_is_read(app, db, tmp_path):
    path = write(
        tmp_path, "w.csv", "framework_code,code,title\nfw,C1,Résumé a café visit\n", "cp1252"
    )
    result = run(app, "import-framework", str(path))
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Competency.title)) == "Résumé a café visit"


def test_bad_csv_reports_every_row_and_writes_nothing(app, db, tmp_path):
    path = write(
        tmp_path,
        "bad.csv",
        "framework_code,code,title\n"
        "fw,A1,Good row\n"
        "fw,,Missing code\n"
        "fw,A3,\n"
        "fw,A1,Different row same code\n"
        f"fw,A5,{'x' * 2001}\n",
    )
    result = run(app, "import-framework", str(path))
    assert result.exit_code == 1
    assert "Nothing was imported" in result.output
    for line in (
        "row 3: code is missing",
        "row 4: title is missing",
        "row 5: duplicate code A1 (first on row 2)",
        "row 6: title is longer than 2000 characters",
    ):
        assert line in result.output
    assert count(db, Framework) == 0
    assert count(db, Competency) == 0


def test_missing_columns_and_two_frameworks_are_refused(app, db, tmp_path):
    result = run(app, "import-framework", str(write(tmp_path, "x.csv", "code,name\nA,B\n")))
    assert result.exit_code == 1
    assert "missing column(s): framework_code, title" in result.output
    two = write(tmp_path, "y.csv", "framework_code,code,title\na,A1,T\nb,B1,T\n")
    result = run(app, "import-framework", str(two))
    assert "one framework per file, found: a, b" in result.output
    assert count(db, Framework) == 0


def test_json_framework_import(app, db, tmp_path):
    data = {
        "code": "local",
        "name": "Local milestones",
        "competencies": [{"code": "L1", "title": "One"}, {"code": "L2", "title": "Two"}],
    }
    result = run(app, "import-framework", str(write(tmp_path, "f.json", json.dumps(data))))
    assert result.exit_code == 0, result.output
    assert count(db, Competency) == 2
    broken = run(app, "import-framework", str(write(tmp_path, "g.json", "{not json")))
    assert broken.exit_code == 1
    assert "not valid JSON" in broken.output


def test_the_documented_examples_import(app, db):
    from pathlib import Path

    examples = Path(__file__).resolve().parent.parent / "docs" / "examples"
    assert run(app, "import-framework", str(examples / "framework.csv")).exit_code == 0
    assert run(app, "import-instrument", str(examples / "instrument.json")).exit_code == 0
    assert count(db, Competency) == 4
    communication = db.session.scalar(select(Competency).where(Competency.code == "COM"))
    children = db.session.scalars(
        select(Competency.code).where(Competency.parent_id == communication.id)
    ).all()
    assert sorted(children) == ["COM1", "COM2", "COM3"]
    assert communication.node_type == "domain"
    assert count(db, FeedbackItem) == 3


def test_changed_instrument_becomes_a_new_version(app, db, tmp_path):
    data = {
        "code": "short",
        "name": {"en": "Short", "es": "Corto"},
        "scale": [{"value": 1, "label": {"en": "No"}}, {"value": 2, "label": {"en": "Yes"}}],
        "items": [{"key": "listened", "prompt": {"en": "Did they listen?"}}],
    }
    path = write(tmp_path, "i.json", json.dumps(data))
    assert "version 1" in run(app, "import-instrument", str(path)).output
    assert "already loaded" in run(app, "import-instrument", str(path)).output
    data["items"][0]["prompt"]["en"] = "Did your student listen to you?"
    path.write_text(json.dumps(data))
    assert "version 2" in run(app, "import-instrument", str(path)).output
    versions = db.session.scalars(
        select(FeedbackInstrument.version).where(FeedbackInstrument.code == "short")
    ).all()
    assert sorted(versions) == [1, 2]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scale": [{"value": 1, "label": {"en": "Only"}}]}, "at least two answer options"),
        (
            {"scale": [{"value": 2, "label": {"en": "B"}}, {"value": 1, "label": {"en": "A"}}]},
            "lowest first",
        ),
        ({"items": [{"key": "a", "prompt": {"es": "solo"}}]}, "English text"),
        (
            {"items": [{"key": "a", "prompt": {"en": "x"}}, {"key": "a", "prompt": {"en": "y"}}]},
            "duplicate item key a",
        ),
    ],
)
def test_bad_instruments_are_refused_whole(app, db, tmp_path, change, message):
    data = {
        "code": "bad",
        "name": {"en": "Bad"},
        "scale": [{"value": 1, "label": {"en": "No"}}, {"value": 2, "label": {"en": "Yes"}}],
        "items": [{"key": "a", "prompt": {"en": "A?"}}],
    }
    data.update(change)
    result = run(app, "import-instrument", str(write(tmp_path, "b.json", json.dumps(data))))
    assert result.exit_code == 1
    assert message in result.output
    assert count(db, FeedbackInstrument) == 0
