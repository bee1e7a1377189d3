"""One count per concept: the cohort dashboard, the committee CSV (figures.csv), the portfolio
and the daily digest give the same numbers for every student.

The cohort is built to catch every way the definitions could drift apart: goals in every status
(one agreed on an older version only, one dropped after agreement, one revised), assessments in
every state (an open one waiting on both people, one on each), a student who completed the year,
one who withdrew, a student with nothing at all, and a second program with its own student.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from clerkship.assessments import service as assessments
from clerkship.assessments.service import WAITING_LABELS
from clerkship.clock import today
from clerkship.directory import dashboard
from clerkship.goals import service as goals
from clerkship.models import (
    Assignment,
    CycleStatus,
    Enrollment,
    EnrollmentStatus,
    GoalStatus,
    Role,
)
from clerkship.portfolios import data as portfolio
from clerkship.portfolios import service as exports
from clerkship.reminders import service as reminders
from tests.conftest import TEST_PASSWORD, login

OPEN_NEITHER, OPEN_SELF_IN, OPEN_RATING_IN = "open-neither", "open-self-in", "open-rating-in"


def _cycle(scaled, student, preceptor, state):
    """A cycle brought to ``state`` through the services, as the two people would."""
    levels = scaled["levels"]
    cycle = assessments.start_cycle(
        student,
        student=student,
        preceptor=preceptor,
        competency_id=scaled["epa"].id,
        encounter="Home visit",
    )
    if state in (OPEN_SELF_IN, OPEN_NEITHER, OPEN_RATING_IN):
        if state == OPEN_SELF_IN:
            assessments.submit_self_assessment(
                student, cycle, assessments.SelfRating(levels[3].id, "Three visits")
            )
        if state == OPEN_RATING_IN:
            assessments.submit_preceptor_assessment(
                preceptor, cycle, level_id=levels[2].id, went_well="Clear", work_on="Summaries"
            )
        assert cycle.status is CycleStatus.OPEN
        return cycle
    assessments.submit_self_assessment(
        student, cycle, assessments.SelfRating(levels[3].id, "Three visits")
    )
    assessments.submit_preceptor_assessment(
        preceptor, cycle, level_id=levels[2].id, went_well="Clear", work_on="Summaries"
    )
    if state in (CycleStatus.AWAITING_SIGNATURE, CycleStatus.RETURNED, CycleStatus.SIGNED):
        assessments.record_reaction(student, cycle, reaction="Fair", plan="Two summaries")
    if state is CycleStatus.RETURNED:
        assessments.return_to_student(preceptor, cycle, "More concrete, please")
    if state is CycleStatus.SIGNED:
        assessments.sign(preceptor, cycle, password=TEST_PASSWORD, meaning="cosigned_supervisor")
    assert cycle.status is state
    return cycle


def _goal(make_goal, student, preceptor, outcome):
    """A goal taken to ``outcome`` through the services."""
    goal = make_goal(
        student, title=f"Goal {outcome}", share_with=[] if outcome == "draft" else [preceptor]
    )
    if outcome in ("draft", "shared"):
        return goal
    if outcome == "dropped-unagreed":
        goals.close_goal(student, goal, GoalStatus.DROPPED, "Not for this year")
        return goal
    goals.agree(preceptor, goal)
    if outcome == "agreed-old-version":  # edited after agreement: back to shared
        goals.edit_goal(
            student,
            goal,
            goals.GoalText(title="Goal reworded", specific="Now more specific"),
            [],
            seen_version_id=goal.version_id,
        )
        assert goal.status is GoalStatus.SHARED
    elif outcome in ("achieved", "revised", "dropped"):
        goals.close_goal(student, goal, GoalStatus(outcome), "What I learned")
    return goal


def _build(db, scaled, make_user, make_goal):
    mine, other = scaled["mine"], scaled["other"]
    preceptor = mine["preceptor"]
    cohort = mine["cohort"]
    full = mine["student"]  # every goal status, every assessment state
    completed = make_user(Role.STUDENT, name="Completed Student")
    withdrawn = make_user(Role.STUDENT, name="Withdrawn Student")
    idle = make_user(Role.STUDENT, name="Idle Student")
    second = make_user(Role.STUDENT, name="Second Student")
    for person, status in (
        (completed, EnrollmentStatus.COMPLETED),
        (withdrawn, EnrollmentStatus.WITHDRAWN),
        (idle, EnrollmentStatus.ACTIVE),
        (second, EnrollmentStatus.ACTIVE),
    ):
        db.session.add(Enrollment(cohort_id=cohort.id, student_id=person.id, status=status))
    for person in (completed, withdrawn, second):
        db.session.add(
            Assignment(
                cohort_id=cohort.id,
                student_id=person.id,
                preceptor_id=preceptor.id,
                discipline="Family medicine",
                start_date=today() - timedelta(days=60),
            )
        )
    db.session.flush()

    for outcome in (
        "draft",
        "shared",
        "agreed",
        "agreed-old-version",
        "achieved",
        "revised",
        "dropped",
        "dropped-unagreed",
    ):
        _goal(make_goal, full, preceptor, outcome)
    for state in (
        OPEN_NEITHER,
        OPEN_SELF_IN,
        OPEN_RATING_IN,
        CycleStatus.REVEALED,
        CycleStatus.AWAITING_SIGNATURE,
        CycleStatus.RETURNED,
        CycleStatus.SIGNED,
    ):
        _cycle(scaled, full, preceptor, state)
    for person in (completed, withdrawn):
        _goal(make_goal, person, preceptor, "agreed")
        _cycle(scaled, person, preceptor, CycleStatus.AWAITING_SIGNATURE)
    _goal(make_goal, second, preceptor, "agreed-old-version")
    _cycle(scaled, second, preceptor, OPEN_SELF_IN)
    # The second program: its student must appear in none of the first program's documents.
    _goal(make_goal, other["student"], other["preceptor"], "agreed")
    _cycle(scaled, other["student"], other["preceptor"], OPEN_NEITHER)
    db.session.commit()
    return {
        "full": full,
        "completed": completed,
        "withdrawn": withdrawn,
        "idle": idle,
        "second": second,
        "outsider": other["student"],
    }


def _digest_numbers(student, preceptors) -> dict:
    """What the digests say about ``student``: lines in their own digest and their
    preceptors' digests that name an assessment step, and whether they are told that they
    have no agreed goal."""
    own = reminders.waiting_for(student)
    on_student = sum(1 for line in own if _step(line, "student"))
    on_preceptor = sum(
        1
        for preceptor in preceptors
        for line in reminders.waiting_for(preceptor)
        if _step(line, "preceptor") and f": {student.name} — " in line
    )
    told = getattr(reminders, "no_agreed_goal_line", lambda: None)()
    no_agreed = any(line == told for line in own)
    return {"on_student": on_student, "on_preceptor": on_preceptor, "no_agreed_goal": no_agreed}


def _step(line: str, side: str) -> bool:
    """Whether a digest line names an assessment step waiting on ``side``."""
    actions = ("self_assess", "react", "revise") if side == "student" else ("rate", "sign")
    return any(line.startswith(f"{WAITING_LABELS[action]}: ") for action in actions)


def test_dashboard_figures_portfolio_and_digest_agree_for_every_student(
    app, client, db, scaled, make_user, make_goal
):
    people = _build(db, scaled, make_user, make_goal)
    mine = scaled["mine"]
    cohort = mine["cohort"]
    problems: list[str] = []

    # --- the students of the cohort ---------------------------------------------------------
    emails = {p.id: p.email for p in people.values()}
    board = {
        emails.get(row.student.id, f"id {row.student.id}"): row
        for row in dashboard.cohort_rows(cohort)
    }
    login(client, mine["director"])
    response = client.get(f"/cohorts/{cohort.id}/figures.csv")
    assert response.status_code == 200
    sheet = {row["email"]: row for row in csv.DictReader(io.StringIO(response.get_data(True)))}
    job = exports.start_export(mine["director"], cohort=cohort)
    exported = {document.student.email for document in job.documents}
    db.session.rollback()
    expected = {p.email for key, p in people.items() if key not in ("withdrawn", "outsider")}
    for name, found in (("dashboard", set(board)), ("figures.csv", set(sheet))):
        if found != expected:
            problems.append(f"{name} students: {sorted(found)} != {sorted(expected)}")
    if exported != expected:
        problems.append(f"cohort export students: {sorted(exported)} != {sorted(expected)}")

    # --- per student: goals agreed, assessments waiting and on whom -------------------------
    # Hand-computed from how the cohort was built: "full" has an agreed and an achieved goal
    # (not the one agreed on an older version, nor the revised or dropped ones); its waiting
    # cycles are the three open ones, revealed, awaiting signature and returned.
    hand = {
        "full": {"agreed": 2, "waiting": 6, "on_student": 4, "on_preceptor": 3},
        "completed": {"agreed": 1, "waiting": 1, "on_student": 0, "on_preceptor": 1},
        "idle": {"agreed": 0, "waiting": 0, "on_student": 0, "on_preceptor": 0},
        "second": {"agreed": 0, "waiting": 1, "on_student": 0, "on_preceptor": 1},
    }
    for key, numbers in hand.items():
        student = people[key]
        row = board.get(student.email)
        line = sheet.get(student.email, {})
        summary = portfolio.portfolio_data(student).get("figures", {})
        digest = _digest_numbers(student, [mine["preceptor"]])
        seen = {
            "dashboard": {
                "agreed": getattr(row, "agreed", None),
                "waiting": getattr(row, "waiting", None),
                "on_student": getattr(row, "waiting_on_student", None),
                "on_preceptor": getattr(row, "waiting_on_preceptor", None),
            },
            "figures.csv": {
                "agreed": _int(line.get("goals_agreed")),
                "waiting": _int(line.get("assessments_waiting")),
                "on_student": _int(line.get("waiting_on_student")),
                "on_preceptor": _int(line.get("waiting_on_preceptor")),
            },
            "portfolio": {
                "agreed": summary.get("goals_agreed"),
                "waiting": summary.get("assessments_waiting"),
                "on_student": summary.get("waiting_on_student"),
                "on_preceptor": summary.get("waiting_on_preceptor"),
            },
            "digest": {
                "on_student": digest["on_student"],
                "on_preceptor": digest["on_preceptor"],
            },
        }
        for surface, values in seen.items():
            for figure, value in values.items():
                if value != numbers[figure]:
                    problems.append(
                        f"{key}: {surface} {figure} = {value}, expected {numbers[figure]}"
                    )
        # The dashboard flags "no agreed learning goal"; the student hears the same in the digest.
        flagged = row is not None and "no agreed learning goal" in [r.what for r in row.reasons]
        told = digest["no_agreed_goal"]
        if flagged != (numbers["agreed"] == 0) or told != (numbers["agreed"] == 0):
            problems.append(f"{key}: flagged={flagged} told={told} agreed={numbers['agreed']}")

    assert not problems, "\n".join(problems)


def _int(value):
    return int(value) if value not in (None, "") else None
