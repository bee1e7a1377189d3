"""Keyed, chained signatures on a populated demo year (issue 13).

One demo year is built per module (the expensive part); every test runs inside a transaction
that is rolled back, so each tampering starts from the same, valid year.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from clerkship import demo, signatures, signed_content, signing_keys
from clerkship.assessments import service as assessments
from clerkship.cli import verify_records_command
from clerkship.directory import dashboard as cohort_dashboard
from clerkship.extensions import db as _db
from clerkship.goals import queries as goal_queries
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
    SignatureMeaning,
    User,
)
from clerkship.portfolios import data as portfolio
from clerkship.portfolios import figures, render
from tests.conftest import demo_year_app

DEMO_PASSWORD = demo.year.DEMO_PASSWORD
DATA = Path(__file__).resolve().parents[1] / "clerkship" / "data"


@pytest.fixture(scope="module")
def app():
    """This module's own app and database: a demo year, built once."""
    with demo_year_app("signed", students=2) as app:
        yield app


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


# --- each signed field of each signed record kind, edited in the database -------------------
#
# Done-when line 1: every signed field of every signed record kind, edited behind the app's
# back, is shown invalid on every surface — the record's page, the lists, the portfolio (its
# data, its HTML; the PDF prints the same part, read back below), figures.csv, the dashboard
# and `flask verify-records` — and so is a content edit with the old unkeyed hash recomputed.


@dataclass
class Target:
    """One signed record: its kind, its own id, whose it is and its signature."""

    kind: str  # "cosignature", "addendum" or "agreement"
    id: int
    student_id: int
    cycle_id: int | None = None
    goal_id: int | None = None
    signature_id: int = 0

    @property
    def signature(self) -> Signature:
        return _db.session.get(Signature, self.signature_id)

    def in_verify_records(self) -> str:
        subject = self.signature
        return f"{subject.subject_type} {subject.subject_id} (signature {self.signature_id})"


def _cosignature() -> Target:
    cycle = _db.session.scalars(
        select(AssessmentCycle)
        .where(AssessmentCycle.status == CycleStatus.SIGNED, ~AssessmentCycle.addenda.any())
        .order_by(AssessmentCycle.id)
    ).first()
    return Target("cosignature", cycle.id, cycle.student_id, cycle.id, None, cycle.signature_id)


def _addendum() -> Target:
    addendum = _db.session.scalars(
        select(AssessmentAddendum).order_by(AssessmentAddendum.id)
    ).first()
    cycle = addendum.cycle
    return Target("addendum", addendum.id, cycle.student_id, cycle.id, None, addendum.signature_id)


def _agreement_in_force() -> Target:
    """An agreement that alone makes its goal count as agreed."""
    candidates = _db.session.scalars(
        select(GoalContribution)
        .join(LearningGoal, GoalContribution.goal_id == LearningGoal.id)
        .where(
            GoalContribution.kind == ContributionKind.AGREEMENT,
            GoalContribution.version_number == LearningGoal.current_version,
            LearningGoal.status.in_(goal_queries.AGREED_STATUSES),
        )
        .order_by(GoalContribution.id)
    )
    for agreement in candidates:
        goal = agreement.goal
        on_current = [
            c
            for c in goal.contributions
            if c.kind is ContributionKind.AGREEMENT and c.version_number == goal.current_version
        ]
        if len(on_current) == 1:
            return Target(
                "agreement", agreement.id, goal.student_id, None, goal.id, agreement.signature_id
            )
    raise AssertionError("the demo year has no goal agreed by one preceptor")


PICK = {"cosignature": _cosignature, "addendum": _addendum, "agreement": _agreement_in_force}


def _edit_content(target: Target) -> None:
    """The signed text itself: the preceptor's words, the addendum, the goal's wording."""
    if target.kind == "cosignature":
        statement = (
            update(PreceptorAssessment)
            .where(PreceptorAssessment.cycle_id == target.cycle_id)
            .values(went_well="FORGED: excellent in every way")
        )
    elif target.kind == "addendum":
        statement = (
            update(AssessmentAddendum)
            .where(AssessmentAddendum.id == target.id)
            .values(body="Nothing happened, really.")
        )
    else:
        agreement = _db.session.get(GoalContribution, target.id)
        statement = (
            update(GoalVersion)
            .where(
                GoalVersion.goal_id == target.goal_id,
                GoalVersion.number == agreement.version_number,
            )
            .values(specific="A goal nobody agreed to")
        )
    _db.session.execute(statement)


def _edit_level(target: Target) -> None:
    theirs = _db.session.get(AssessmentCycle, target.cycle_id).preceptor_assessment
    level = _db.session.get(EntrustmentLevel, theirs.level_id)
    other = _db.session.scalar(
        select(EntrustmentLevel.id).where(
            EntrustmentLevel.scale_id == level.scale_id, EntrustmentLevel.id != level.id
        )
    )
    _db.session.execute(
        update(PreceptorAssessment)
        .where(PreceptorAssessment.id == theirs.id)
        .values(level_id=other)
    )


def _edit_agreed_version(target: Target) -> None:
    agreement = _db.session.get(GoalContribution, target.id)
    number = agreement.version_number
    _db.session.execute(
        update(GoalContribution)
        .where(GoalContribution.id == target.id)
        .values(version_number=number - 1 if number > 1 else number + 1)
    )


def _edit_signature(column: str, value=None):
    """A column of the signature itself (``None``: another plausible value of that column)."""

    def edit(target: Target) -> None:
        signature = target.signature
        new = value
        if column == "signer_id":
            new = _db.session.scalar(select(User.id).where(User.id != signature.signer_id))
        elif column == "meaning":
            new = next(m for m in SignatureMeaning if m != signature.meaning)
        elif column == "signed_at":
            new = signature.signed_at - timedelta(days=3)
        _db.session.execute(
            update(Signature).where(Signature.id == signature.id).values({column: new})
        )

    return edit


def _forge_with_the_old_hash(target: Target) -> None:
    """Change the content and recompute the old-style SHA-256 with the app's own code."""
    _edit_content(target)
    _db.session.expire_all()
    signature = target.signature
    forged = signatures.content_hash(signed_content.current_record(signature))
    _db.session.execute(
        update(Signature).where(Signature.id == signature.id).values(content_hash=forged, scheme=1)
    )


def _forge_content_and_snapshot(target: Target) -> None:
    """Rewrite the content, its snapshot and the fingerprint together: only the key can tell."""
    _edit_content(target)
    _db.session.expire_all()
    signature = target.signature
    snapshot = json.loads(json.dumps(signature.snapshot))
    snapshot["record"] = signed_content.normalised(signed_content.current_record(signature))
    signature.snapshot = snapshot
    fingerprint = signed_content.payload_hash(signature)
    _db.session.execute(
        update(Signature)
        .where(Signature.id == signature.id)
        .values(snapshot=snapshot, content_hash=fingerprint)
    )
    _db.session.expire_all()


SIGNATURE_EDITS = {
    "signer": _edit_signature("signer_id"),
    "printed name": _edit_signature("printed_name", "Someone Else"),
    "meaning": _edit_signature("meaning"),
    "signed_at": _edit_signature("signed_at"),
    "old-style hash recomputed": _forge_with_the_old_hash,
    "content, snapshot and fingerprint": _forge_content_and_snapshot,
    "signature value": _edit_signature("value", "not-a-signature"),
    "corrupt signature value": _edit_signature("value", "%%% not base64 %%%"),
    "unknown key id": _edit_signature("key_id", "no-such-key"),
}
EDITS = {
    "cosignature": {"content": _edit_content, "level": _edit_level, **SIGNATURE_EDITS},
    "addendum": {"addendum text": _edit_content, **SIGNATURE_EDITS},
    "agreement": {
        "goal version text": _edit_content,
        "agreed version": _edit_agreed_version,
        **SIGNATURE_EDITS,
    },
}
CASES = [(kind, name) for kind, edits in EDITS.items() for name in edits]


def _is_valid(target: Target) -> bool:
    """Through the per-kind helper every page uses (all end in signed_content.verify)."""
    if target.kind == "cosignature":
        return bool(assessments.signature_valid(_db.session.get(AssessmentCycle, target.id)))
    if target.kind == "addendum":
        addendum = _db.session.get(AssessmentAddendum, target.id)
        return assessments.addendum_valid(addendum, addendum.cycle)
    agreement = _db.session.get(GoalContribution, target.id)
    return goals.agreement_is_valid(agreement.goal, agreement)


def _figures_row(student_id: int) -> dict:
    cohort = _db.session.scalars(
        select(Cohort).where(Cohort.enrollments.any(student_id=student_id))
    ).one()
    student = _db.session.get(User, student_id)
    rows = csv.DictReader(io.StringIO(_csv(figures.cohort_rows(cohort))))
    row = next(r for r in rows if r["student"] == student.name)
    dashboard_row = next(
        r for r in cohort_dashboard.cohort_rows(cohort) if r.student.id == student_id
    )
    row["dashboard_agreed"] = dashboard_row.agreed
    row["cohort_id"] = cohort.id
    return {k: int(v) if isinstance(v, str) and v.isdigit() else v for k, v in row.items()}


def _in_portfolio(target: Target) -> dict:
    data = portfolio.portfolio_data(_db.session.get(User, target.student_id))
    shown = []
    for section in data["competencies"]:
        if target.kind == "agreement":
            for goal in section["goals"]:
                if goal["id"] == target.goal_id:
                    shown += goal["agreed_by"]
            continue
        for cycle in section["assessments"]:
            if cycle["id"] != target.cycle_id:
                continue
            if target.kind == "cosignature":
                shown.append(cycle["signature"])
            else:
                shown += cycle["addenda"]
    assert shown, "the record is in the portfolio"
    return {"valid": all(item["valid"] for item in shown), "figures": data["figures"]}


def _csv(rows) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize(("kind", "edit"), CASES, ids=[f"{k}: {e}" for k, e in CASES])
def test_each_signed_field_edited_in_the_database_is_invalid_on_every_surface(
    app, db, client, kind, edit
):
    target = PICK[kind]()
    assert _is_valid(target)
    before = _figures_row(target.student_id)
    agreed_before = _in_portfolio(target)["figures"]["goals_agreed"]
    assert before["signatures_invalid"] == 0

    EDITS[kind][edit](target)
    db.session.commit()
    db.session.expire_all()

    assert _is_valid(target) is False
    _login(client, _director())
    if kind == "agreement":
        page = client.get(f"/goals/{target.goal_id}")
        assert page.status_code == 200
        assert "Signature invalid" in page.get_data(as_text=True)
        html = client.get(f"/goals/{target.goal_id}/history").get_data(as_text=True)
        assert "signature invalid" in html and "signature valid<" not in html
    else:
        page = client.get(f"/assessments/{target.cycle_id}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        if kind == "cosignature":
            assert "Signature invalid" in html and "Signature valid" not in html
            html = client.get(f"/students/{target.student_id}").get_data(as_text=True)
            assert "signature invalid" in html
        else:
            assert "signature does not match" in html

    shown = _in_portfolio(target)
    assert shown["valid"] is False
    portfolio_page = client.get(f"/portfolios/{target.student_id}")
    assert portfolio_page.status_code == 200
    assert "SIGNATURE INVALID" in portfolio_page.get_data(as_text=True)

    after = _figures_row(target.student_id)
    assert after["signatures_invalid"] == 1
    if kind == "cosignature":
        assert after["assessments_signed"] == before["assessments_signed"] - 1
    if kind == "agreement":
        # The goal no longer counts as agreed anywhere: figures.csv, dashboard, portfolio.
        assert after["goals_agreed"] == before["goals_agreed"] - 1
        assert after["dashboard_agreed"] == before["dashboard_agreed"] - 1
        assert shown["figures"]["goals_agreed"] == agreed_before - 1
        dashboard = client.get(f"/cohorts/{after['cohort_id']}/dashboard")
        assert dashboard.status_code == 200

    code, output = _verify_records(app)
    assert code == 1
    assert target.in_verify_records() in output


def test_the_pdf_shows_invalid_signatures_and_the_chain_head(app, db):
    """One student's co-signature, addendum and agreement altered: the PDF flags all three."""
    addendum = _addendum()
    student_id = addendum.student_id
    cycle = _db.session.scalars(
        select(AssessmentCycle)
        .where(AssessmentCycle.student_id == student_id, AssessmentCycle.id != addendum.cycle_id)
        .where(AssessmentCycle.status == CycleStatus.SIGNED)
    ).first()
    agreement = _db.session.scalars(
        select(GoalContribution)
        .join(LearningGoal, GoalContribution.goal_id == LearningGoal.id)
        .where(
            LearningGoal.student_id == student_id,
            GoalContribution.kind == ContributionKind.AGREEMENT,
        )
    ).first()
    targets = [
        addendum,
        Target("cosignature", cycle.id, student_id, cycle.id, None, cycle.signature_id),
        Target("agreement", agreement.id, student_id, None, agreement.goal_id, 0),
    ]
    for target in targets:
        _edit_content(target)
    db.session.commit()
    db.session.expire_all()
    student = db.session.get(User, student_id)
    result = render.render_pdf(portfolio.portfolio_data(student), "ABCD-EFGH", "2026-12-03")
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(result.pdf)).pages)
    flat = " ".join(text.split())
    # Each kind flagged, and nothing else.
    assert "SIGNATURE INVALID — Signed by" in flat
    assert "SIGNATURE INVALID — Agreed by" in flat
    assert re.search(r"Addendum · [^·]+ · [^·]+ · ⚠ SIGNATURE INVALID", flat)
    # (a goal is printed under each of its competencies)
    assert flat.count("SIGNATURE INVALID") == 2 + flat.count("SIGNATURE INVALID — Agreed by")
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
    # Directors (and admins) reach it from the navigation; nobody else is offered it.
    assert 'href="/integrity"' in client.get("/").get_data(as_text=True)
    client.post("/sign-out")
    student = db.session.scalars(select(User).where(User.role == Role.STUDENT)).first()
    _login(client, student)
    assert 'href="/integrity"' not in client.get("/").get_data(as_text=True)


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


def test_reordering_chain_entries_is_reported(app, db, client):
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
    _login(client, _director())
    client.post("/integrity/check")
    html = client.get("/integrity").get_data(as_text=True)
    assert f"chain entry {first.seq} does not follow the entry before it" in html


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
    target = _cosignature()
    cycle = db.session.get(AssessmentCycle, target.id)
    _login(client, cycle.preceptor)
    assert "signature invalid" not in client.get("/assessments/").get_data(as_text=True)
    client.post("/sign-out")
    _edit_content(target)
    db.session.commit()
    _login(client, cycle.preceptor)
    assert "signature invalid" in client.get("/assessments/").get_data(as_text=True)
    client.post("/sign-out")
    _login(client, _director())
    html = client.get(f"/students/{cycle.student_id}").get_data(as_text=True)
    assert "signature invalid" in html


def test_a_verdict_is_remembered_only_for_the_same_stored_values_and_keys(app, tmp_path):
    with app.app_context():
        ring = signing_keys.ring()
        assert ring.verdict(("signature", 1, "text")) is None
        ring.remember(("signature", 1, "text"), True)
        assert ring.verdict(("signature", 1, "text")) is True
        # One value edited: a new entry, nothing remembered for it.
        assert ring.verdict(("signature", 1, "edited")) is None
        ring.remember(("signature", 1, "edited"), False)
        assert ring.verdict(("signature", 1, "edited")) is False
        assert ring.verdict(("signature", 1, "text")) is True
        # Another key ring (a rotation reads the file again) remembers nothing yet.
        signing_keys.create(tmp_path / "other.json")
        other = signing_keys.read(tmp_path / "other.json")
        assert other.verdict(("signature", 1, "text")) is None


def test_the_stored_digest_differs_whenever_any_value_does(app, db):
    """What the key ring remembers a list's verdicts under: two rows that differ in any value
    never share it, even when their values written one after another are the same text."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from clerkship.models.base import UTCDateTime, stored_digest

    def bound(value):
        if value is None:
            return sa.null()
        if isinstance(value, datetime):
            return sa.literal(value, UTCDateTime())
        if isinstance(value, bytes):
            return sa.literal(value, sa.LargeBinary)
        if isinstance(value, int):
            return sa.literal(value, sa.Integer)
        return sa.literal(value, sa.Text)

    def digest(*values):
        return db.session.scalar(select(stored_digest(*[bound(v) for v in values])))

    moment = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    rows = [
        ("ab", "c", "x"),
        ("a", "bc", "x"),  # the same text, split elsewhere
        ("ab", "c", None),  # a value gone
        ("ab", None, "cx"),  # ... in the middle
        (None, "abc", "x"),
        ("ab", "c", "~"),  # the text NULL is written as on PostgreSQL
        ("ab", "c", ""),  # empty, not NULL
        ("ab", "c", "1:x"),  # what a length and ":" look like
        ("ab", "c", "X"),
        ("ab", "c", "é"),  # a character of two bytes
        (b"ab", "c", "x"),  # bytes, not text
        (moment, "c", "x"),
        (moment.replace(microsecond=1), "c", "x"),
        (7, "c", "x"),
        (8, "c", "x"),
    ]
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite stores what it is given whatever the column's type, and text may hold NUL
        # (PostgreSQL's text may not): neither its type nor where a NUL is may go unseen.
        rows += [
            ("7", "c", "x"),
            ("x\x00", "ab", "y\x001:z"),
            ("x\x002:ab", "y\x00", "z"),
            (b"\xff\xfe", "c", "x"),  # not UTF-8: still read without an error
        ]
    digests = [digest(*row) for row in rows]
    assert digest(*rows[0]) == digests[0]
    assert len(set(digests)) == len(rows)
    if db.session.get_bind().dialect.name == "postgresql":
        # PostgreSQL sends text in the connection's encoding: an edited title read under
        # LATIN1 is the bytes the original was under UTF-8 ("ó" is "Ã³" there).
        signed = digest("Sesión clínica")
        db.session.execute(sa.text("SET LOCAL client_encoding = 'LATIN1'"))
        edited = digest("SesiÃ³n clÃ\xadnica")
        db.session.execute(sa.text("SET LOCAL client_encoding = 'UTF8'"))
        assert edited != signed


def _agreed_counts(app) -> dict[int, int]:
    with app.app_context():
        cohort = _db.session.scalars(select(Cohort).order_by(Cohort.id)).first()
        return {row.student.id: row.agreed for row in cohort_dashboard.cohort_rows(cohort)}


@pytest.mark.parametrize("reread_by_id", [200, 0], ids=["a few read again", "all read again"])
def test_agreements_are_checked_once_until_one_changes(app, db, monkeypatch, reread_by_id):
    """A list reads a digest of each agreement's stored values and checks only those it has
    no verdict for: none when nothing changed, then only the changed one — read again by id
    (a few) or with all the others (many: the first view of a worker)."""
    monkeypatch.setattr(goal_queries, "REREAD_BY_ID", reread_by_id)
    checked = []
    real_check = goal_queries.agreement_checks_out

    def counting_check(goal, version, signature):
        checked.append(goal.id)
        return real_check(goal, version, signature)

    monkeypatch.setattr(goal_queries, "agreement_checks_out", counting_check)
    monkeypatch.setattr(signing_keys.ring(), "_verdicts", {})
    before = _agreed_counts(app)
    in_force = len(checked)
    assert in_force >= 1 and sum(before.values()) >= 1

    checked.clear()
    assert _agreed_counts(app) == before
    assert checked == []  # nothing changed: every verdict remembered

    target = _agreement_in_force()
    _edit_content(target)
    db.session.commit()
    after = _agreed_counts(app)
    assert checked == [target.goal_id]  # only the edited one checked anew
    assert after[target.student_id] == before[target.student_id] - 1
    assert {k: v for k, v in after.items() if k != target.student_id} == {
        k: v for k, v in before.items() if k != target.student_id
    }
