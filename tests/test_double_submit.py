"""Every create form, sent twice with the same token, makes one record; the second lands on
the first's result (clerkship.submissions)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from clerkship import clock
from clerkship.models import (
    AssessmentCycle,
    Assignment,
    Cohort,
    CycleStatus,
    ExportJob,
    GoalContribution,
    LearningGoal,
    PanelEntry,
    PatientInvitation,
    Program,
    Reflection,
    Role,
    SubmittedForm,
    User,
)
from tests.assessments.conftest import make_cycle, scaled  # noqa: F401  (fixtures)
from tests.conftest import login
from tests.patients.conftest import instrumented  # noqa: F401  (fixture)

TOKEN = re.compile(r'name="submission" value="([A-Za-z0-9_-]+)"')


@dataclass
class Case:
    who: str  # "student", "preceptor", "director", "admin"
    page: str  # the GET page that renders the form
    post: str  # where it posts
    data: dict[str, Any]
    counted: Any  # the model one submission adds a row of


def _cases(world, goal, cycle) -> dict[str, Case]:
    mine = world["mine"]
    student, preceptor, director = mine["student"], mine["preceptor"], mine["director"]
    today = clock.today()
    entry = world["entry"]
    return {
        "goal": Case(
            "student", "/goals/new", "/goals/new", {"title": "Lead a family meeting"}, LearningGoal
        ),
        "note": Case(
            "preceptor",
            f"/goals/{goal.id}",
            f"/goals/{goal.id}/notes",
            {"kind": "comment", "body": "Good start"},
            GoalContribution,
        ),
        "suggestion": Case(
            "preceptor",
            f"/goals/{goal.id}",
            f"/goals/{goal.id}/suggestions",
            {"field": "measure", "proposed_text": "Use teach-back"},
            GoalContribution,
        ),
        "assessment": Case(
            "student",
            "/assessments/new",
            "/assessments/new",
            {"person": preceptor.id, "competency": world["epa"].id, "encounter": "Home visit"},
            AssessmentCycle,
        ),
        "goal from plan": Case(
            "student",
            f"/assessments/{cycle.id}",
            f"/assessments/{cycle.id}/goal",
            {"goal_title": "Close every visit with a summary"},
            LearningGoal,
        ),
        "reflection": Case(
            "student",
            "/reflections/new",
            "/reflections/new",
            {"title": "A hard conversation", "body": "I interrupted too early."},
            Reflection,
        ),
        "panel patient": Case(
            "student",
            f"/panel/{student.id}",
            f"/panel/{student.id}/patients",
            {"name": "Mrs. A.", "language": "es", "consent_date": today.isoformat()},
            PanelEntry,
        ),
        "invitation": Case(
            "student",
            f"/panel/{student.id}",
            f"/panel/entries/{entry.id}/invitations",
            {f"entry-{entry.id}-purpose": "feedback"},
            PatientInvitation,
        ),
        "pairing": Case(
            "director",
            f"/students/{student.id}/pairings",
            f"/students/{student.id}/pairings",
            {
                "preceptor": world["newcomer"].id,
                "discipline": "Psychiatry",
                "start_date": (today - timedelta(days=1)).isoformat(),
            },
            Assignment,
        ),
        "program": Case(
            "admin",
            "/programs/new",
            "/programs/new",
            {"name": "Hillside LIC", "slug": "hillside-lic", "director_emails": director.email},
            Program,
        ),
        "account": Case(
            "admin",
            "/admin/people/new",
            "/admin/people/new",
            {"name": "Ana Ruiz", "email": "ana.ruiz@example.org", "role": "preceptor"},
            User,
        ),
        "cohort": Case(
            "director",
            f"/programs/{mine['program'].id}/cohorts/new",
            f"/programs/{mine['program'].id}/cohorts/new",
            {"name": "2027–28", "start_date": "2027-07-01", "end_date": "2028-06-30"},
            Cohort,
        ),
        "student export": Case(
            "director",
            f"/portfolios/{student.id}",
            f"/portfolios/{student.id}/export",
            {},
            ExportJob,
        ),
        "cohort export": Case(
            "director",
            f"/cohorts/{mine['cohort'].id}",
            f"/cohorts/{mine['cohort'].id}/export",
            {},
            ExportJob,
        ),
    }


@pytest.fixture
def setting(db, scaled, instrumented, make_cycle, make_goal, make_user):  # noqa: F811
    mine = scaled["mine"]
    goal = make_goal(mine["student"], share_with=[mine["preceptor"]])
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    scaled["entry"] = db.session.scalar(
        select(PanelEntry).where(PanelEntry.student_id == mine["student"].id)
    )
    scaled["newcomer"] = make_user(Role.PRECEPTOR)
    db.session.commit()
    return scaled, goal, cycle


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _token(client, case: Case, post: str) -> str:
    page = client.get(case.page).get_data(as_text=True)
    tokens = [
        match.group(1)
        for form in re.findall(r"<form\b.*?</form>", page, re.S)
        if f'action="{post}' in form or ('action="' not in form and case.page == post)
        for match in [TOKEN.search(form)]
        if match
    ]
    assert tokens, f"no submission token in the form posting to {post}"
    return tokens[0]


CASES = [
    "goal",
    "note",
    "suggestion",
    "assessment",
    "goal from plan",
    "reflection",
    "panel patient",
    "invitation",
    "pairing",
    "program",
    "account",
    "cohort",
    "student export",
    "cohort export",
]


@pytest.mark.parametrize("name", CASES)
def test_the_same_form_sent_twice_makes_one_record(client, db, setting, name):
    world, goal, cycle = setting
    case = _cases(world, goal, cycle)[name]
    user = world["admin"] if case.who == "admin" else world["mine"][case.who]
    login(client, user)
    token = _token(client, case, case.post)
    before = _count(db, case.counted)

    first = client.post(case.post, data={**case.data, "submission": token})
    second = client.post(case.post, data={**case.data, "submission": token})

    assert first.status_code == 302, first.get_data(as_text=True)[:2000]
    assert _count(db, case.counted) == before + 1
    assert second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert "That form had already been sent" in client.get(second.headers["Location"]).get_data(
        as_text=True
    )


def test_a_new_token_is_a_new_record(client, db, setting):
    world, _goal, _cycle = setting
    login(client, world["mine"]["student"])
    case = Case("student", "/reflections/new", "/reflections/new", {"title": "T", "body": "B"}, 0)
    for _ in range(2):
        token = _token(client, case, case.post)
        client.post(case.post, data={**case.data, "submission": token})
    assert _count(db, Reflection) == 2


def test_a_refused_submission_keeps_its_token_and_can_be_sent_again(client, db, setting):
    """The first send is refused (no title): nothing is kept, not even the token, and the
    page that comes back carries the same token, so the corrected form makes the record."""
    world, _goal, _cycle = setting
    login(client, world["mine"]["student"])
    case = Case("student", "/reflections/new", "/reflections/new", {}, Reflection)
    token = _token(client, case, case.post)

    refused = client.post(case.post, data={"title": "", "body": "Kept", "submission": token})

    assert refused.status_code == 400
    assert TOKEN.search(refused.get_data(as_text=True)).group(1) == token
    assert _count(db, SubmittedForm) == 0
    fixed = client.post(case.post, data={"title": "T", "body": "Kept", "submission": token})
    assert fixed.status_code == 302
    assert _count(db, Reflection) == 1


def test_someone_elses_token_is_refused(client, db, setting):
    world, _goal, _cycle = setting
    mine, other = world["mine"], world["other"]
    login(client, mine["student"])
    case = Case("student", "/reflections/new", "/reflections/new", {}, Reflection)
    token = _token(client, case, case.post)
    client.post(case.post, data={"title": "Mine", "body": "B", "submission": token})
    client.post("/sign-out")
    login(client, other["student"])

    response = client.post(case.post, data={"title": "Theirs", "body": "B", "submission": token})

    assert response.status_code == 400
    assert _count(db, Reflection) == 1


@pytest.mark.parametrize("name", CASES)
def test_a_create_form_without_its_token_is_refused_and_keeps_what_was_typed(
    client, db, setting, name
):
    """Nothing could tell the second sending of a token-less form from a new record: it is
    refused (never a 500), nothing is written, and the reason is shown with the input."""
    world, goal, cycle = setting
    case = _cases(world, goal, cycle)[name]
    login(client, world["admin"] if case.who == "admin" else world["mine"][case.who])
    before = (_count(db, case.counted), _count(db, SubmittedForm))

    response = client.post(case.post, data={**case.data, "submission": None})

    assert response.status_code in (302, 400)
    assert (_count(db, case.counted), _count(db, SubmittedForm)) == before
    page = (
        client.get(response.headers["Location"]) if response.status_code == 302 else response
    ).get_data(as_text=True)
    assert "came without the code that keeps it from being saved twice" in page
    typed = [v for v in case.data.values() if isinstance(v, str) and " " in v]
    for value in typed:  # the sentences the user wrote come back on the page
        assert html.escape(value, quote=False) in page
    if response.status_code == 302:  # only the one-choice forms (invitation, exports)
        assert name in ("invitation", "student export", "cohort export")
