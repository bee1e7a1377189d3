"""The read API's access matrix: every operation × token role (a director's, an admin's) ×
a record of the token's own program / of the other program.

A token acts as its maker narrowed to its program: a director's token reads the program's
records as the director's pages do; an admin's reads set-up and people only (admins do not
read students' records on the pages either); nothing of the other program, ever.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clerkship.models import Framework
from tests.api.conftest import bearer
from tests.test_access_matrix import _cycles, _goal, _panel_records

SETUP = frozenset({"director", "admin"})
RECORDS = frozenset({"director"})

# endpoint: (path, roles that read the own program's record; lists: roles that see items)
OPERATIONS: dict[str, tuple[str, frozenset]] = {
    "api.programs": ("/api/v1/programs", SETUP),
    "api.cohorts": ("/api/v1/cohorts", SETUP),
    "api.people": ("/api/v1/people?role=student", SETUP),
    "api.frameworks": ("/api/v1/frameworks", SETUP),
    "api.goals": ("/api/v1/goals?student={student}", RECORDS),
    "api.goal": ("/api/v1/goals/{goal}", RECORDS),
    "api.assessments": ("/api/v1/assessments?student={student}", RECORDS),
    "api.assessment": ("/api/v1/assessments/{cycle}", RECORDS),
    "api.feedback": ("/api/v1/students/{student}/feedback-summary", RECORDS),
    "api.portfolio": ("/api/v1/students/{student}/portfolio", RECORDS),
}
LISTS = {
    "api.programs",
    "api.cohorts",
    "api.people",
    "api.frameworks",
    "api.goals",
    "api.assessments",
}


def test_every_api_operation_is_in_the_matrix(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")}
    assert endpoints == OPERATIONS.keys()


def _ids(world, side, db) -> dict:
    part = world[side]
    cycle = _cycles(world, side, db)["signed_cycle"]  # before the program names frameworks
    framework = db.session.scalar(select(Framework).where(Framework.code == f"api-{side}"))
    if framework is None:
        framework = Framework(code=f"api-{side}", name=f"Framework {side}")
        part["program"].frameworks.append(framework)
        db.session.commit()
    _panel_records(world, side, db)
    return {
        "student": part["student"].id,
        "goal": _goal(world, side, db).id,
        "cycle": cycle,
        "program": part["program"].id,
        "cohort": part["cohort"].id,
        "framework": framework.id,
    }


def _ids_in(body) -> set[int]:
    items = body if isinstance(body, list) else body["items"]
    return {item["id"] for item in items}


@pytest.mark.parametrize("role", ["director", "admin"])
@pytest.mark.parametrize("relation", ["own", "other"])
@pytest.mark.parametrize("endpoint", sorted(OPERATIONS))
def test_api_access(client, db, world, api_tokens, endpoint, role, relation):
    path, readers = OPERATIONS[endpoint]
    side = "mine" if relation == "own" else "other"
    ids = _ids(world, "mine", db)  # the token's own program always has records
    if side == "other":
        ids = _ids(world, side, db)
    response = client.get(path.format(**ids), headers=bearer(api_tokens[role]))
    allowed = relation == "own" and role in readers
    if endpoint not in LISTS:
        assert response.status_code == (200 if allowed else 404), response.get_json()
        return
    assert response.status_code == 200
    body = response.get_json()
    seen = _ids_in(body)
    if endpoint in ("api.goals", "api.assessments"):
        # Filtered to the side's student: the token's program, or nothing at all.
        assert bool(seen) == allowed
        return
    # Set-up lists show the token's program only, whatever is asked.
    other = world["other"]
    foreign = {
        "api.programs": {other["program"].id},
        "api.cohorts": {other["cohort"].id},
        "api.people": {other["student"].id},
        "api.frameworks": {ids["framework"]} if side == "other" else set(),
    }[endpoint]
    assert not seen & foreign
    assert bool(seen) == (role in readers)


@pytest.mark.parametrize("role", ["director", "admin"])
def test_a_session_is_not_a_token(client, world, api_tokens, role):
    from tests.conftest import login

    login(client, world["mine"][role] if role == "director" else world["admin"])
    assert client.get("/api/v1/programs").status_code == 401
