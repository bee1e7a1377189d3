"""Goal lists and pages, eager-loaded so their cost does not grow with the records shown."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Bundle, selectinload
from wtforms import SelectChoice

from clerkship import dates, permissions, signing_keys
from clerkship.extensions import db
from clerkship.goals.service import CLOSED, FIELD_LABELS, agreement_checks_out
from clerkship.models import (
    AssessmentCycle,
    Competency,
    ContributionKind,
    GoalContribution,
    GoalShare,
    GoalStatus,
    GoalVersion,
    LearningGoal,
    Role,
    Signature,
    SuggestionState,
    User,
)
from clerkship.models.base import among, stored_digest

PAGE_OPTIONS = (
    selectinload(LearningGoal.student),
    selectinload(LearningGoal.versions).selectinload(GoalVersion.author),
    selectinload(LearningGoal.shares).selectinload(GoalShare.user),
    selectinload(LearningGoal.competencies),
    selectinload(LearningGoal.contributions).selectinload(GoalContribution.author),
    selectinload(LearningGoal.contributions).selectinload(GoalContribution.signature),
    selectinload(LearningGoal.from_assessment).selectinload(AssessmentCycle.competency),
)

LIST_OPTIONS = (
    selectinload(LearningGoal.student),
    selectinload(LearningGoal.versions),
    selectinload(LearningGoal.shares),
    selectinload(LearningGoal.contributions),
)

STATUS_ORDER = list(GoalStatus)

# --- goals agreed ----------------------------------------------------------------------------
# A goal counts as agreed when it stands as agreed — in force (*agreed*) or met (*achieved*) —
# and a preceptor's agreement is on its current wording, *and that agreement's signature checks
# out* (goals.service.agreement_is_valid, the one check every page makes). Not counted: a goal
# reworded after its agreement (back to *shared* until agreed again), a goal replaced by a new
# one (*revised*) or given up (*dropped*), even if it had been agreed, and a goal whose only
# agreement was altered after signing. The dashboard, figures.csv, the portfolio and the digest
# all count with :func:`agreements_checked`.

AGREED_STATUSES = (GoalStatus.AGREED, GoalStatus.ACHIEVED)


def _agreement_on_current() -> ColumnElement[bool]:
    """SQL: this contribution is an agreement to its goal's current wording."""
    return (
        (GoalContribution.goal_id == LearningGoal.id)
        & (GoalContribution.kind == ContributionKind.AGREEMENT)
        & (GoalContribution.version_number == LearningGoal.current_version)
    )


@dataclass
class Agreements:
    """One student's goal agreements, each signature checked."""

    # Goals agreed by a signature that checks out; agreement signatures (on any version) that
    # do not check out.
    goals: set[int] = dataclasses.field(default_factory=set)
    invalid: int = 0


# What an agreement's check reads, as stored: plain column bundles, JSON as its text. A
# dashboard checks every agreement of a cohort (~1,300 in force for 700 students): building
# ORM objects and re-encoding each snapshot cost more than the checks, and reading the
# snapshots (a kilobyte each) more than the rest of the board. So a list first reads a digest
# of these values (models.base.stored_digest), under which the key ring remembers each
# verdict; the values themselves are read, and JSON decoded, only to check anew.
_GOAL: Bundle[Any] = Bundle("goal", LearningGoal.id, LearningGoal.student_id)
_VERSION: Bundle[Any] = Bundle(
    "version",
    GoalVersion.id,
    GoalVersion.number,
    GoalVersion.title,
    GoalVersion.specific,
    GoalVersion.measure,
    GoalVersion.actions,
    GoalVersion.target_date,
    sa.cast(GoalVersion.competencies, sa.Text).label("competencies"),
)
_SIGNATURE: Bundle[Any] = Bundle(
    "signature",
    Signature.id,
    Signature.scheme,
    Signature.key_id,
    Signature.value,
    Signature.subject_type,
    Signature.subject_id,
    Signature.signer_id,
    Signature.printed_name,
    Signature.meaning,
    Signature.signed_at,
    sa.cast(Signature.snapshot, sa.Text).label("snapshot"),
    sa.cast(Signature.authentication, sa.Text).label("authentication"),
)
_JSON_TEXT = ("competencies", "snapshot", "authentication")
# Every value the check reads, but the goal's own (its id and student, read plainly).
_STORED = stored_digest(*_VERSION.exprs, *_SIGNATURE.exprs).label("stored")
# Agreements not checked yet in this process are read again with their values: by their ids
# when a few (one changed since the last view), otherwise all again (the first view).
REREAD_BY_ID = 200


def _verdict_key(goal_id: int, student_id: int, stored: bytes | str) -> tuple:
    """What an agreement's verdict is remembered under. SQLite sends the stored values
    themselves (kilobytes of hex): kept as their SHA-256, as PostgreSQL sends it."""
    if isinstance(stored, str):
        stored = hashlib.sha256(stored.encode()).digest()
    return goal_id, student_id, stored


def _decoded(stored) -> Any:
    """A bundle's values with its JSON decoded, read by the checks as the ORM row would be;
    None for an outer join that found no row."""
    if stored.id is None:
        return None
    values = stored._asdict()
    for name in _JSON_TEXT:
        if name in values and values[name] is not None:
            values[name] = json.loads(values[name])
    return SimpleNamespace(**values)


def _agreements(student_ids: Iterable[int] | sa.Select, counted_only: bool, *columns) -> sa.Select:
    """Each agreement of these students with its goal, the version it agreed to and its
    signature (not every version of every goal): ``columns`` of them."""
    query = (
        select(*columns)
        .select_from(GoalContribution)
        .join(LearningGoal, GoalContribution.goal_id == LearningGoal.id)
        .outerjoin(
            GoalVersion,
            (GoalVersion.goal_id == LearningGoal.id)
            & (GoalVersion.number == GoalContribution.version_number),
        )
        .outerjoin(Signature, Signature.id == GoalContribution.signature_id)
        .where(
            among(LearningGoal.student_id, student_ids),
            GoalContribution.kind == ContributionKind.AGREEMENT,
        )
    )
    if counted_only:
        query = query.where(LearningGoal.status.in_(AGREED_STATUSES), _agreement_on_current())
    return query


def agreements_checked(
    student_ids: Iterable[int] | sa.Select, *, counted_only: bool = False
) -> dict[int, Agreements]:
    """{student id: their agreements, checked}; students without any are left out.

    The same few queries whatever the number of students, and a signature check per
    agreement not checked before. ``counted_only`` checks only what :func:`goals_agreed`
    counts: agreements in force, one that checks out per goal (``invalid`` is then not
    counted)."""
    if not isinstance(student_ids, sa.Select):
        student_ids = list(student_ids)
    # In force: the goal stands as agreed and this agreement is on its current wording.
    in_force = sa.case(
        (LearningGoal.status.in_(AGREED_STATUSES) & _agreement_on_current(), True), else_=False
    )
    checked: dict[int, Agreements] = {}
    ring = signing_keys.ring()

    def tally(goal_id: int, student_id: int, valid: bool, counts: bool) -> None:
        found = checked.setdefault(student_id, Agreements())
        if not valid:
            found.invalid += 1
        elif counts:
            found.goals.add(goal_id)

    unchecked: set[int] = set()  # agreement ids
    for agreement_id, goal_id, student_id, counts, stored in db.session.execute(
        _agreements(
            student_ids,
            counted_only,
            GoalContribution.id,
            LearningGoal.id,
            LearningGoal.student_id,
            in_force,
            _STORED,
        )
    ):
        found = checked.setdefault(student_id, Agreements())
        if counted_only and goal_id in found.goals:
            continue  # already counted: another agreement changes nothing
        valid = ring.verdict(_verdict_key(goal_id, student_id, stored))
        if valid is None:
            unchecked.add(agreement_id)
        else:
            tally(goal_id, student_id, valid, counts)
    # Read again even when every verdict is known (then nothing): a page makes the same
    # queries whatever this process has checked before.
    again = _agreements(
        student_ids,
        counted_only,
        GoalContribution.id,
        _GOAL,
        _VERSION,
        _SIGNATURE,
        in_force,
        _STORED,
    )
    if len(unchecked) <= REREAD_BY_ID:
        again = again.where(GoalContribution.id.in_(unchecked or [0]))
    for agreement_id, goal, version, signature, counts, stored in db.session.execute(again):
        if agreement_id not in unchecked:
            continue  # its verdict was remembered
        if counted_only and goal.id in checked.get(goal.student_id, Agreements()).goals:
            continue
        valid = agreement_checks_out(goal, _decoded(version), _decoded(signature))
        ring.remember(_verdict_key(goal.id, goal.student_id, stored), valid)
        tally(goal.id, goal.student_id, valid, counts)
    return checked


def goals_agreed(student_ids: Iterable[int] | sa.Select) -> dict[int, int]:
    """{student id: number of agreed goals} (students with none are left out)."""
    return {
        student_id: len(found.goals)
        for student_id, found in agreements_checked(student_ids, counted_only=True).items()
        if found.goals
    }


def goals_of_student(student_id: int) -> list[LearningGoal]:
    return list(
        db.session.scalars(
            select(LearningGoal)
            .where(LearningGoal.student_id == student_id)
            .options(*LIST_OPTIONS)
            .order_by(LearningGoal.updated_at.desc())
        )
    )


def goals_shared_with(user: User) -> list[LearningGoal]:
    """Goals shared with a preceptor (of that student) or a patient (on that panel)."""
    if user.role not in (Role.PRECEPTOR, Role.PATIENT):
        return []
    return list(
        db.session.scalars(
            select(LearningGoal)
            .where(permissions.goals_visible_to(user))
            .options(*LIST_OPTIONS)
            .order_by(LearningGoal.updated_at.desc())
        )
    )


def by_status(goals: list[LearningGoal]) -> list[tuple[GoalStatus, list[LearningGoal]]]:
    groups: dict[GoalStatus, list[LearningGoal]] = {status: [] for status in STATUS_ORDER}
    for goal in goals:
        groups[goal.status].append(goal)
    return [(status, items) for status, items in groups.items() if items]


def pending_suggestions(goal: LearningGoal) -> list[GoalContribution]:
    return [
        c
        for c in goal.contributions
        if c.kind is ContributionKind.SUGGESTION and c.suggestion_state is SuggestionState.PENDING
    ]


def awaiting_student(goals: list[LearningGoal]) -> list[tuple[LearningGoal, int]]:
    """Open goals with suggestions the student has not answered yet."""
    rows = [(goal, len(pending_suggestions(goal))) for goal in goals if goal.status not in CLOSED]
    return [(goal, n) for goal, n in rows if n]


def agreed_by(goal: LearningGoal, user: User) -> bool:
    return any(
        c.kind is ContributionKind.AGREEMENT
        and c.author_id == user.id
        and c.version_number == goal.current_version
        for c in goal.contributions
    )


def awaiting_agreement(goals: list[LearningGoal], preceptor: User) -> list[LearningGoal]:
    return [g for g in goals if g.status is GoalStatus.SHARED and not agreed_by(g, preceptor)]


def competency_choices(student_id: int, keep: tuple[int, ...] = ()) -> list[SelectChoice]:
    """The trees of the frameworks the student's program chose (retired nodes hidden)."""
    from clerkship.frameworks.queries import indented, pickable

    return [
        SelectChoice(node.id, indented(depth, node.label), optgroup=framework.name)
        for framework, depth, node in pickable(student_id, keep)
    ]


def competencies_by_id(ids: list[int]) -> list[Competency]:
    if not ids:
        return []
    return list(db.session.scalars(select(Competency).where(Competency.id.in_(ids))))


# --- differences between versions ------------------------------------------------------------


@dataclass
class FieldChange:
    field: str
    label: str
    old: str
    new: str
    segments: list[tuple[str, str]]  # ("same" | "removed" | "added", text)


_TOKENS = re.compile(r"\s+|[^\s]+")


def _segments(old: str, new: str) -> list[tuple[str, str]]:
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    segments: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            segments.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(("removed", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(("added", "".join(b[j1:j2])))
    return segments


def _as_text(version: GoalVersion, field: str) -> str:
    value = getattr(version, field)
    if field == "competencies":
        return "; ".join(value)
    if field == "target_date":
        return dates.show_date(value)  # as every page says a date (the diff reads words)
    return value or ""


def changes(old: GoalVersion | None, new: GoalVersion) -> list[FieldChange]:
    """Field-by-field difference between two versions (all fields for the first)."""
    result = []
    for field in ("title", "specific", "measure", "actions", "target_date", "competencies"):
        before = _as_text(old, field) if old is not None else ""
        after = _as_text(new, field)
        if before != after:
            # The first version is shown as written, not as one long insertion.
            segments = _segments(before, after) if old is not None else [("same", after)]
            result.append(FieldChange(field, str(FIELD_LABELS[field]), before, after, segments))
    return result


def history(goal: LearningGoal) -> list[tuple[GoalVersion, list[FieldChange], list]]:
    """Each version (newest first) with what changed and the agreements given to it."""
    rows = []
    previous = None
    by_number: dict[int | None, list[GoalContribution]] = {}
    for contribution in goal.contributions:
        if contribution.kind is ContributionKind.AGREEMENT:
            by_number.setdefault(contribution.version_number, []).append(contribution)
    for version in goal.versions:
        rows.append((version, changes(previous, version), by_number.get(version.number, [])))
        previous = version
    return list(reversed(rows))
