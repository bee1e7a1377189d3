"""The two forms credentials add to: the program's settings (which level is an entrustment
decision) and the addendum (the preceptor withdraws a decision)."""

from __future__ import annotations

from sqlalchemy import select

from clerkship.credentials import decisions
from clerkship.models import AuditEvent, CycleStatus, IssuedCredential
from tests.conftest import TEST_PASSWORD, login


def _program_form(program, **changes) -> dict:
    data = {
        "name": program.name,
        "institution": program.institution,
        "scale_id": str(program.scale_id),
        "framework_ids": [str(f.id) for f in program.frameworks],
        "password_for_school_accounts": "y",
        "entrustment_value": "None",
    }
    return data | changes


def test_the_director_marks_the_level_on_the_program_page(client, db, scaled):
    program = scaled["mine"]["program"]
    login(client, scaled["mine"]["director"])
    page = client.get(f"/programs/{program.id}/edit").get_data(as_text=True)
    assert "Entrustment decision from" in page and "Act with indirect supervision" in page
    answer = client.post(
        f"/programs/{program.id}/edit", data=_program_form(program, entrustment_value="3")
    )
    assert answer.status_code == 302
    db.session.expire_all()
    assert program.entrustment_value == 3
    assert decisions.threshold_level(program).label == "Act with indirect supervision"
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "program.edited")
    ).all()[-1]
    assert event.after["entrustment_value"] == 3
    # A value that is no level of the scale: refused beside the field, nothing saved.
    refused = client.post(
        f"/programs/{program.id}/edit", data=_program_form(program, entrustment_value="9")
    )
    assert refused.status_code == 400
    assert "Choose a level of the program" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert program.entrustment_value == 3
    # And off again.
    client.post(f"/programs/{program.id}/edit", data=_program_form(program))
    db.session.expire_all()
    assert program.entrustment_value is None


def test_the_other_programs_director_cannot_set_it(client, db, scaled):
    program = scaled["mine"]["program"]
    login(client, scaled["other"]["director"])
    answer = client.post(
        f"/programs/{program.id}/edit", data=_program_form(program, entrustment_value="3")
    )
    assert answer.status_code == 404
    db.session.expire_all()
    assert program.entrustment_value is None


def test_the_preceptor_withdraws_through_the_addendum_page(client, db, decision, scaled):
    url = f"/assessments/{decision.id}/addenda"
    login(client, scaled["mine"]["student"])
    assert "withdraws the entrustment decision" not in client.get(url).get_data(as_text=True)
    client.post("/sign-out")
    login(client, scaled["mine"]["preceptor"])
    assert "withdraws the entrustment decision" in client.get(url).get_data(as_text=True)
    wrong = client.post(
        url, data={"body": "Too early.", "password": "wrong", "withdraws_decision": "y"}
    )
    assert wrong.status_code == 400
    assert db.session.scalar(select(IssuedCredential)) is None  # nothing half-done
    done = client.post(
        url, data={"body": "Too early.", "password": TEST_PASSWORD, "withdraws_decision": "y"}
    )
    assert done.status_code == 302
    db.session.expire_all()
    row = db.session.scalar(select(IssuedCredential))
    assert row.withdrawn_at is not None and row.withdrawn_by.body == "Too early."
    assert not decisions.is_entrustment_decision(decision)
    # Once withdrawn the box is gone, and the decision cannot be withdrawn twice.
    assert "withdraws the entrustment decision" not in client.get(url).get_data(as_text=True)
    again = client.post(
        url, data={"body": "Again.", "password": TEST_PASSWORD, "withdraws_decision": "y"}
    )
    assert again.status_code == 400


def test_an_ordinary_cycle_offers_no_withdrawal(client, db, scaled, make_cycle):
    scaled["mine"]["program"].entrustment_value = 4
    cycle = make_cycle(CycleStatus.SIGNED, self_level=2, preceptor_level=2)
    db.session.commit()
    login(client, scaled["mine"]["preceptor"])
    url = f"/assessments/{cycle.id}/addenda"
    assert "withdraws the entrustment decision" not in client.get(url).get_data(as_text=True)
    forced = client.post(
        url, data={"body": "x", "password": TEST_PASSWORD, "withdraws_decision": "y"}
    )
    assert forced.status_code == 400
    assert "not an entrustment decision" in forced.get_data(as_text=True)
