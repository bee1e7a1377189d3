"""The sharing form on the shared field macro: the error beside the checkboxes, each box
marked aria-invalid, and the boxes the student ticked still ticked."""

import re

from tests.conftest import login


def _box(html: str, value: int) -> str:
    match = re.search(rf'<input[^>]*value="{value}"[^>]*>', html)
    assert match, f"no checkbox for {value}"
    return match.group(0)


def test_sharing_with_no_preceptor_marks_the_field_and_keeps_the_ticks(client, world, make_goal):
    mine = world["mine"]
    goal = make_goal(mine["student"])
    login(client, mine["student"])
    response = client.post(f"/goals/{goal.id}/share", data={"people": [str(mine["patient"].id)]})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(r'<p class="error" id="people-error">[^<]*preceptor', html)
    assert 'aria-describedby="people-hint people-error"' in html
    patient_box = _box(html, mine["patient"].id)
    assert "checked" in patient_box and 'aria-invalid="true"' in patient_box
    preceptor_box = _box(html, mine["preceptor"].id)
    assert "checked" not in preceptor_box and 'aria-invalid="true"' in preceptor_box


def test_another_programs_preceptor_is_not_a_choice(client, world, make_goal):
    mine, other = world["mine"], world["other"]
    goal = make_goal(mine["student"])
    login(client, mine["student"])
    page = client.get(f"/goals/{goal.id}/share").get_data(as_text=True)
    assert other["preceptor"].name not in page
    response = client.post(
        f"/goals/{goal.id}/share", data={"people": [str(other["preceptor"].id)]}
    )
    assert response.status_code == 400
    assert 'id="people-error"' in response.get_data(as_text=True)
