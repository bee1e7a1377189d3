"""Continuity patients stay anonymous to each other on a shared goal's page.

A patient account sees another patient only as "Another patient" (in "Who is working on it",
the thread and the history); staff see names as before; a patient sees their own name.
"""

from datetime import timedelta

import pytest

from clerkship import clock, permissions
from clerkship.goals import service
from clerkship.models import ContributionKind, PanelEntry, Role
from tests.conftest import login


@pytest.fixture
def two_patients(db, world, make_user, make_goal):
    mine = world["mine"]
    first = mine["patient"]
    first.name = "Alma Firstpatient"
    second = make_user(Role.PATIENT, name="Berta Secondpatient")
    db.session.add(
        PanelEntry(
            cohort_id=mine["cohort"].id,
            student_id=mine["student"].id,
            patient_id=second.id,
            consent_date=clock.today() - timedelta(days=10),
        )
    )
    db.session.flush()
    goal = make_goal(mine["student"], share_with=[mine["preceptor"], first, second])
    service.add_note(second, goal, ContributionKind.COMMENT, "I hope this helps.")
    suggestion = service.suggest(second, goal, "measure", "Ask me how it went")
    service.accept_suggestion(mine["student"], goal, suggestion)
    db.session.commit()
    return goal, first, second


def test_a_patient_sees_another_patient_only_as_another_patient(client, world, two_patients):
    goal, first, _second = two_patients
    login(client, first)
    for page in (f"/goals/{goal.id}", f"/goals/{goal.id}/history"):
        html = client.get(page).get_data(as_text=True)
        assert "Berta" not in html, page
    assert "Another patient" in client.get(f"/goals/{goal.id}").get_data(as_text=True)
    # The history credits the suggestion without a name: Berta did not choose to show hers
    # (issue 16's rule), which no viewer gets past.
    history = client.get(f"/goals/{goal.id}/history").get_data(as_text=True)
    assert "from a suggestion by a patient" in history
    html = client.get(f"/goals/{goal.id}").get_data(as_text=True)
    assert "Alma Firstpatient" in html  # their own name
    assert world["mine"]["preceptor"].name in html  # staff names as before


def test_staff_and_the_student_still_see_patient_names(client, world, two_patients):
    goal, _first, _second = two_patients
    for viewer in (world["mine"]["student"], world["mine"]["preceptor"]):
        login(client, viewer)
        html = client.get(f"/goals/{goal.id}").get_data(as_text=True)
        assert "Berta Secondpatient" in html and "Alma Firstpatient" in html
        client.post("/sign-out")


def test_the_other_programs_patient_sees_nothing(client, world, two_patients):
    goal, _first, _second = two_patients
    login(client, world["other"]["patient"])
    assert client.get(f"/goals/{goal.id}").status_code == 404


def test_the_rule_itself(world, two_patients):
    _goal, first, second = two_patients
    other_patient = world["other"]["patient"]
    assert not permissions.can_see_name_of(first, second)
    assert not permissions.can_see_name_of(other_patient, second)
    assert permissions.can_see_name_of(first, first)
    assert permissions.can_see_name_of(first, world["mine"]["preceptor"])
    assert permissions.can_see_name_of(world["mine"]["preceptor"], second)
    assert permissions.can_see_name_of(world["other"]["director"], world["other"]["student"])
