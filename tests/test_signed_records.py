"""Keyed, chained signatures on a populated demo year (issue 13).

One demo year is built per module (the expensive part); every test runs inside a transaction
that is rolled back, so each tampering starts from the same, valid year.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import timedelta
from pathlib import Path

import flask_migrate
import pytest
from sqlalchemy import delete, select, update

from clerkship import create_app, demo, signatures, signed_content, signing_keys
from clerkship.assessments import service as assessments
from clerkship.cli import verify_records_command
from clerkship.extensions import db as _db
from clerkship.goals import service as goals
from clerkship.integrity import service as integrity
from clerkship.models import (
    AssessmentAddendum,
    AssessmentCycle,
    Cohort,
    ContributionKind,
    CycleStatus,
    EntrustmentLevel,
    GoalContribution,
    GoalVersion,
    LearningGoal,
    PreceptorAssessment,
    Role,
    Signature,
    SignatureLogEntry,
    User,
)
from clerkship.portfolios import data as portfolio
from clerkship.portfolios import figures, render
from tests.conftest import IsolatedClient, test_config
from tests.databases import fresh_database

DEMO_PASSWORD = demo.year.DEMO_PASSWORD
DATA = Path(__file__).resolve().parents[1] / "clerkship" / "data"


@pytest.fixture(scope="module")
def app():
    """This module's own app and database: a demo year, built once."""
    with fresh_database("signed") as url:
        app = create_app(test_config(url))
        app.test_client_class = IsolatedClient
        with app.app_context():
            flask_migrate.upgrade()
            demo.build_demo_year(students=2)
            _db.session.commit()
        yield app
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()


def _login(client, user: User) -> None:
    response = client.post("/sign-in", data={"email": user.email, "password": DEMO_PASSWORD})
    assert response.status_code == 302


def _director() -> User:
    return _db.session.scalar(select(User).where(User.role == Role.DIRECTOR))


def _signed_cycle(with_addendum: bool = False) -> AssessmentCycle:
    query = select(AssessmentCycle).where(AssessmentCycle.status == CycleStatus.SIGNED)
    if with_addendum:
        query = query.where(AssessmentCycle.addenda.any())
    return _db.session.scalars(query.order_by(AssessmentCycle.id)).first()


def _agreement() -> GoalContribution:
    return _db.session.scalars(
        select(GoalContribution)
        .where(GoalContribution.kind == ContributionKind.AGREEMENT)
        .order_by(GoalContribution.id)
    ).first()


def _verify_records(app) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(verify_records_command)
    return result.exit_code, result.output


# --- each signed field, edited in the database ---------------------------------------------


def _other_level(level_id: int) -> int:
    level = _db.session.get(EntrustmentLevel, level_id)
    return _db.session.scalar(
        select(EntrustmentLevel.id).where(
            EntrustmentLevel.scale_id == level.scale_id, EntrustmentLevel.id != level_id
        )
    )


def _other_user(user_id: int) -> int:
    return _db.session.scalar(select(User.id).where(User.id != user_id))


def _edit_cycle_content(cycle):
    _db.session.execute(
        update(PreceptorAssessment)
        .where(PreceptorAssessment.cycle_id == cycle.id)
        .values(went_well="FORGED: excellent in every way")
    )


def _edit_cycle_level(cycle):
    theirs = cycle.preceptor_assessment
    _db.session.execute(
        update(PreceptorAssessment)
        .where(PreceptorAssessment.id == theirs.id)
        .values(level_id=_other_level(theirs.level_id))
    )


def _edit_signature(**values):
    def edit(cycle):
        if "signer_id" in values:
            values["signer_id"] = _other_user(cycle.signature.signer_id)
        if "meaning" in values:
            values["meaning"] = next(
                m for m in assessments.COSIGN_MEANINGS if m != cycle.signature.meaning
            )
        if "signed_at" in values:
            values["signed_at"] = cycle.signature.signed_at - timedelta(days=3)
        _db.session.execute(
            update(Signature).where(Signature.id == cycle.signature_id).values(**values)
        )

    return edit


def _forge_with_the_old_hash(cycle):
    """Change the content and recompute the old-style SHA-256 with the app's own code."""
    _edit_cycle_content(cycle)
    _db.session.expire_all()
    cycle = _db.session.get(AssessmentCycle, cycle.id)
    forged = signatures.content_hash(assessments.cosigned_record(cycle))
    _db.session.execute(
        update(Signature)
        .where(Signature.id == cycle.signature_id)
        .values(content_hash=forged, scheme=1)
    )


def _forge_content_and_snapshot(cycle):
    """Rewrite the content, its snapshot and the fingerprint together: only the key can tell."""
    _edit_cycle_content(cycle)
    snapshot = json.loads(json.dumps(cycle.signature.snapshot))
    snapshot["record"]["preceptor_assessment"]["went_well"] = "FORGED: excellent in every way"
    cycle.signature.snapshot = snapshot
    cycle.signature.content_hash = signed_content.payload_hash(cycle.signature)
    _db.session.execute(
        update(Signature)
        .where(Signature.id == cycle.signature_id)
        .values(snapshot=snapshot, content_hash=cycle.signature.content_hash)
    )
    _db.session.expire_all()


CYCLE_EDITS = {
    "content, snapshot and fingerprint": _forge_content_and_snapshot,
    "content": _edit_cycle_content,
    "level": _edit_cycle_level,
    "signer": _edit_signature(signer_id=None),
    "printed name": _edit_signature(printed_name="Someone Else"),
    "meaning": _edit_signature(meaning=None),
    "signed_at": _edit_signature(signed_at=None),
    "old-style hash recomputed": _forge_with_the_old_hash,
    "signature value": _edit_signature(value="not-a-signature"),
    "corrupt signature value": _edit_signature(value="%%% not base64 %%%"),
    "unknown key id": _edit_signature(key_id="no-such-key"),
}


@pytest.mark.parametrize("edit", CYCLE_EDITS.values(), ids=CYCLE_EDITS.keys())
def test_each_edit_of_a_cosigned_assessment_is_invalid_on_every_surface(app, db, client, edit):
    cycle = _signed_cycle()
    student_id = cycle.student_id
    assert assessments.signature_valid(cycle) is True
    edit(cycle)
    db.session.commit()
    db.session.expire_all()
    cycle = db.session.get(AssessmentCycle, cycle.id)

    assert assessments.signature_valid(cycle) is False
    _login(client, _director())
    page = client.get(f"/assessments/{cycle.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Signature invalid" in html and "Signature valid" not in html

    data = portfolio.portfolio_data(db.session.get(User, student_id))
    shown = [a for s in data["competencies"] for a in s["assessments"] if a["id"] == cycle.id]
    assert shown and shown[0]["signature"]["valid"] is False
    html = client.get(f"/portfolios/{student_id}").get_data(as_text=True)
    assert "SIGNATURE INVALID" in html

    cohort = db.session.scalars(select(Cohort)).first()
    rows = list(csv.DictReader(io.StringIO(_csv(figures.cohort_rows(cohort)))))
    row = next(r for r in rows if r["student"] == cycle.student.name)
    assert int(row["signatures_invalid"]) == 1

    code, output = _verify_records(app)
    assert code == 1
    assert f"assessment_cycle {cycle.id} (signature {cycle.signature_id})" in output


def _csv(rows) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def test_an_edited_addendum_is_invalid_on_every_surface(app, db, client):
    cycle = _signed_cycle(with_addendum=True)
    addendum = cycle.addenda[0]
    assert assessments.addendum_valid(addendum, cycle)
    db.session.execute(
        update(AssessmentAddendum)
        .where(AssessmentAddendum.id == addendum.id)
        .values(body="Nothing happened, really.")
    )
    db.session.commit()
    db.session.expire_all()
    cycle = db.session.get(AssessmentCycle, cycle.id)
    assert assessments.addendum_valid(cycle.addenda[0], cycle) is False
    assert assessments.signature_valid(cycle) is True  # the original is untouched

    _login(client, _director())
    html = client.get(f"/assessments/{cycle.id}").get_data(as_text=True)
    assert "signature does not match" in html
    html = client.get(f"/portfolios/{cycle.student_id}").get_data(as_text=True)
    assert "SIGNATURE INVALID" in html
    code, output = _verify_records(app)
    assert code == 1 and f"assessment_addendum {addendum.id}" in output


GOAL_EDITS = {
    "version text": lambda c: _db.session.execute(
        update(GoalVersion)
        .where(GoalVersion.goal_id == c.goal_id, GoalVersion.number == c.version_number)
        .values(specific="A goal nobody agreed to")
    ),
    "agreed version": lambda c: _db.session.execute(
        update(GoalContribution)
        .where(GoalContribution.id == c.id)
        .values(version_number=c.version_number - 1 if c.version_number > 1 else 2)
    ),
    "signed_at": lambda c: _db.session.execute(
        update(Signature)
        .where(Signature.id == c.signature_id)
        .values(signed_at=c.signature.signed_at + timedelta(hours=1))
    ),
}


@pytest.mark.parametrize("edit", GOAL_EDITS.values(), ids=GOAL_EDITS.keys())
def test_each_edit_of_a_goal_agreement_is_invalid_on_every_surface(app, db, client, edit):
    agreement = _agreement()
    goal = agreement.goal
    assert goals.agreement_is_valid(goal, agreement)
    edit(agreement)
    db.session.commit()
    db.session.expire_all()
    goal = db.session.get(LearningGoal, goal.id)
    agreement = db.session.get(GoalContribution, agreement.id)
    assert goals.agreement_is_valid(goal, agreement) is False

    _login(client, _director())
    html = client.get(f"/goals/{goal.id}").get_data(as_text=True)
    assert "Signature invalid" in html
    html = client.get(f"/goals/{goal.id}/history").get_data(as_text=True)
    assert "signature invalid" in html and "signature valid<" not in html
    data = portfolio.portfolio_data(goal.student)
    agreed = [
        a
        for s in data["competencies"]
        for g in s["goals"]
        if g["id"] == goal.id
        for a in g["agreed_by"]
    ]
    assert agreed and not all(a["valid"] for a in agreed)
    html = client.get(f"/portfolios/{goal.student_id}").get_data(as_text=True)
    assert "SIGNATURE INVALID" in html
    code, output = _verify_records(app)
    assert code == 1 and f"learning_goal {goal.id} (signature {agreement.signature_id})" in output


def test_the_pdf_shows_invalid_signatures_and_the_chain_head(app, db):
    cycle = _signed_cycle()
    _edit_cycle_content(cycle)
    agreement = _agreement()
    GOAL_EDITS["version text"](agreement)
    db.session.commit()
    db.session.expire_all()
    student = db.session.get(User, cycle.student_id)
    result = render.render_pdf(portfolio.portfolio_data(student), "ABCD-EFGH", "2026-12-03")
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(result.pdf)).pages)
    assert "SIGNATURE INVALID" in text
    head = db.session.scalar(integrity.chain.HEAD)
    assert head.entry_hash[:16] in text.replace("\n", "")


# --- the chain ----------------------------------------------------------------------------------


def test_the_untouched_demo_year_checks_out(app, db, client):
    code, output = _verify_records(app)
    assert code == 0, output
    count = db.session.scalar(select(_db.func.count()).select_from(Signature))
    assert f"{count} signature(s) checked" in output
    _login(client, _director())
    html = client.get("/integrity").get_data(as_text=True)
    assert "checked out" in html


def _entries() -> list[SignatureLogEntry]:
    return list(db_scalars(select(SignatureLogEntry).order_by(SignatureLogEntry.seq)))


def db_scalars(query):
    return _db.session.scalars(query).all()


def test_deleting_a_chain_entry_is_reported(app, db, client):
    victim = _entries()[5]
    db.session.execute(delete(SignatureLogEntry).where(SignatureLogEntry.seq == victim.seq))
    db.session.commit()
    code, output = _verify_records(app)
    assert code == 1
    assert f"chain entries {victim.seq} to {victim.seq} are missing" in output
    assert f"(signature {victim.signature_id}): missing from the chain" in output
    _login(client, _director())
    assert client.post("/integrity/check").status_code == 302
    html = client.get("/integrity").get_data(as_text=True)
    assert f"chain entries {victim.seq} to {victim.seq} are missing" in html


def test_reordering_chain_entries_is_reported(app, db):
    first, second = _entries()[3:5]
    # Swap their places (through a free number: seq is the primary key).
    for seq, new in ((first.seq, -1), (second.seq, first.seq), (-1, second.seq)):
        db.session.execute(
            update(SignatureLogEntry).where(SignatureLogEntry.seq == seq).values(seq=new)
        )
    db.session.commit()
    code, output = _verify_records(app)
    assert code == 1
    assert f"chain entry {first.seq} does not follow the entry before it" in output


def test_deleting_a_signed_record_is_reported(app, db, client):
    cycle = _signed_cycle(with_addendum=True)
    addendum = cycle.addenda[0]
    agreement = _agreement()
    db.session.execute(delete(AssessmentAddendum).where(AssessmentAddendum.id == addendum.id))
    db.session.execute(delete(GoalContribution).where(GoalContribution.id == agreement.id))
    db.session.commit()
    code, output = _verify_records(app)
    assert code == 1
    deleted = "signed record deleted"
    assert (
        f"assessment_addendum {addendum.id} (signature {addendum.signature_id}): {deleted}"
        in output
    )
    assert (
        f"learning_goal {agreement.goal_id} (signature {agreement.signature_id}): {deleted}"
        in output
    )
    # Deleting the signature too leaves the chain entry as evidence.
    db.session.execute(delete(Signature).where(Signature.id == addendum.signature_id))
    db.session.commit()
    code, output = _verify_records(app)
    assert f"(signature {addendum.signature_id}): signature deleted" in output
    _login(client, _director())
    client.post("/integrity/check")
    html = client.get("/integrity").get_data(as_text=True)
    assert "signature deleted" in html


def test_cutting_entries_off_the_end_is_caught_by_the_last_check(app, db):
    integrity.full_check()
    head = _entries()[-1]
    db.session.execute(delete(SignatureLogEntry).where(SignatureLogEntry.seq == head.seq))
    db.session.commit()
    code, output = _verify_records(app)
    assert code == 1
    assert f"chain entry {head.seq}, the head at the last check, is gone" in output


# --- ordinary change leaves every signature valid -------------------------------------------


def _reworded_framework(tmp_path: Path, name: str) -> Path:
    document = json.loads((DATA / name).read_text())
    for competency in document["competencies"]:
        competency["title"] = "Reworded: " + competency["title"]
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def test_reworded_frameworks_renamed_people_and_an_edited_scale_keep_signatures_valid(
    app, db, client, tmp_path
):
    from clerkship import seeds

    for name in ("aamc-core-epas.json", "acgme-domains.json"):
        seeds.import_framework_file(_reworded_framework(tmp_path, name))
    db.session.execute(update(User).values(name=User.name + " (renamed)"))
    db.session.execute(
        update(EntrustmentLevel).values(label="New wording " + EntrustmentLevel.label)
    )
    db.session.commit()
    db.session.expire_all()

    check = integrity.full_check()
    assert check.ok, check.problems
    assert check.signatures >= 10
    for cycle in db.session.scalars(
        select(AssessmentCycle).where(AssessmentCycle.status == CycleStatus.SIGNED)
    ):
        assert assessments.signature_valid(cycle) is True
        # What the signer saw is kept: the old wording, not the new.
        labels = signed_content.labels_of(cycle.signature)
        assert not labels["competency"]["title"].startswith("Reworded")
        assert not labels["preceptor_level"]["label"].startswith("New wording")
    _login(client, _director())
    cycle = _signed_cycle()
    html = client.get(f"/portfolios/{cycle.student_id}").get_data(as_text=True)
    assert "Reworded: " in html and "SIGNATURE INVALID" not in html


# --- keys ------------------------------------------------------------------------------------


@pytest.fixture
def own_key_file(app, tmp_path):
    """Rotate a copy of the suite's key, never the key the rest of the run uses."""
    path, mtime, ring = app.extensions[signing_keys.EXTENSION]
    copy = tmp_path / "signing-key.json"
    shutil.copy(path, copy)
    app.extensions[signing_keys.EXTENSION] = (copy, 0, ring)
    yield copy
    app.extensions[signing_keys.EXTENSION] = (path, mtime, ring)


def test_rotation_keeps_old_signatures_valid_and_publishes_the_retired_key(
    app, db, client, own_key_file
):
    cycle = _signed_cycle(with_addendum=True)
    before = cycle.signature
    old_kid = signing_keys.ring().kid
    assert before.key_id == old_kid

    code = app.test_cli_runner().invoke(args=["rotate-signing-key"])
    assert code.exit_code == 0, code.output
    new_kid = signing_keys.ring().kid
    assert new_kid != old_kid

    preceptor = cycle.preceptor
    addendum = assessments.record_addendum(preceptor, cycle, "Signed after the rotation.")
    db.session.commit()
    assert addendum.signature.key_id == new_kid
    assert assessments.signature_valid(cycle) is True
    assert assessments.addendum_valid(addendum, cycle) is True
    assert integrity.full_check().ok

    keys = client.get("/.well-known/jwks.json").get_json()["keys"]
    assert [k["kid"] for k in keys] == [new_kid, old_kid]
    assert keys[1]["status"] == "retired"
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" for k in keys)


def test_the_key_id_is_the_rfc7638_thumbprint():
    # RFC 8037 appendix A.3: the thumbprint of its example Ed25519 public key.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    x = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    public = Ed25519PublicKey.from_public_bytes(x)
    assert signing_keys.thumbprint(public) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_a_signature_made_with_another_key_is_invalid(app, db, tmp_path):
    cycle = _signed_cycle()
    stranger = tmp_path / "stranger.json"
    signing_keys.create(stranger)
    ring = signing_keys.read(stranger)
    signature = cycle.signature
    signature.key_id, signature.value = ring.sign(
        signatures.canonical(signed_content.payload(signature))
    )
    assert assessments.signature_valid(cycle) is False
    db.session.rollback()


def test_lists_flag_an_invalid_signature(app, db, client):
    cycle = _signed_cycle()
    _login(client, cycle.preceptor)
    assert "signature invalid" not in client.get("/assessments/").get_data(as_text=True)
    client.post("/sign-out")
    _edit_cycle_content(cycle)
    db.session.commit()
    _login(client, cycle.preceptor)
    assert "signature invalid" in client.get("/assessments/").get_data(as_text=True)
    client.post("/sign-out")
    _login(client, _director())
    html = client.get(f"/students/{cycle.student_id}").get_data(as_text=True)
    assert "signature invalid" in html
