"""Assessment pages as people use them: forms, blind reveal on every page, signing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text

from clerkship.models import AssessmentCycle, AuditEvent, CycleStatus, LearningGoal
from tests.conftest import TEST_PASSWORD, login


def _html(response) -> str:
    return response.get_data(as_text=True)


def _seen(cycle) -> dict:
    """The version the review page's forms carry (read now, not from a stale object)."""
    version = select(AssessmentCycle.version_id).where(AssessmentCycle.id == cycle.id)
    from clerkship.extensions import db

    return {"version": db.session.scalar(version)}


def _version_field(html: str) -> str:
    match = re.search(r'name="version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="version"', html)
    assert match, "the form carries no version"
    return match.group(1) or match.group(2)


def test_student_starts_a_cycle_through_the_form(client, db, scaled):
    mine = scaled["mine"]
    login(client, mine["student"])
    page = client.get("/assessments/new")
    assert page.status_code == 200
    assert scaled["epa"].title in _html(page)
    assert scaled["acgme"].title not in _html(page)  # not one of this program's frameworks

    response = client.post(
        "/assessments/new",
        data={
            "person": mine["preceptor"].id,
            "competency": scaled["epa"].id,
            "encounter": "Home visit with Mr. B.",
        },
    )
    assert response.status_code == 302
    cycle = db.session.scalar(select(AssessmentCycle))
    assert response.headers["Location"] == f"/assessments/{cycle.id}"
    assert cycle.encounter == "Home visit with Mr. B."


def test_bad_start_keeps_what_was_typed(client, db, scaled):
    mine = scaled["mine"]
    login(client, mine["student"])
    response = client.post(
        "/assessments/new",
        data={
            "person": mine["preceptor"].id,
            "competency": scaled["epa"].id,
            "period_start": "2026-10-01",
            "period_end": "2026-09-01",
        },
    )
    assert response.status_code == 400
    html = _html(response)
    assert "The period cannot end before it starts." in html
    assert 'value="2026-10-01"' in html
    outside = client.post(
        "/assessments/new",
        data={"person": mine["preceptor"].id, "competency": scaled["acgme"].id, "encounter": "x"},
    )
    assert outside.status_code == 400
    assert db.session.scalar(select(func.count(AssessmentCycle.id))) == 0


def test_blind_on_every_page_until_both_submit(client, db, scaled, make_cycle):
    mine, levels = scaled["mine"], scaled["levels"]
    cycle = make_cycle()
    secret_level = levels[5].label
    secret_feedback = "Distinctive narrative feedback 7731"

    login(client, mine["preceptor"])
    response = client.post(
        f"/assessments/{cycle.id}/rate",
        data={"went_well": secret_feedback, "work_on": "More of it", "level": levels[5].id},
    )
    assert response.status_code == 302
    client.post("/sign-out")

    # The student cannot read the preceptor's rating anywhere before submitting their own.
    login(client, mine["student"])
    for path in (
        f"/assessments/{cycle.id}",
        "/assessments/",
        "/",
        f"/assessments/calibration/{mine['student'].id}",
        f"/students/{mine['student'].id}",
    ):
        html = _html(client.get(path))
        assert secret_level not in html, path
        assert secret_feedback not in html, path
    # The self-assessment form lists every level of the scale, but nothing of the rating.
    assert secret_feedback not in _html(client.get(f"/assessments/{cycle.id}/self"))
    assert "Hidden until you submit your own rating" in _html(
        client.get(f"/assessments/{cycle.id}")
    )
    self_evidence = "My own distinctive evidence 5512"
    response = client.post(
        f"/assessments/{cycle.id}/self",
        data={"level": levels[2].id, "evidence": self_evidence, "interpretation": ""},
    )
    assert response.status_code == 302
    html = _html(client.get(f"/assessments/{cycle.id}"))
    assert secret_level in html and secret_feedback in html
    assert "You rated yourself three levels below your preceptor." in html


def test_preceptor_and_director_do_not_see_the_self_rating_early(client, db, scaled, make_cycle):
    mine, levels = scaled["mine"], scaled["levels"]
    cycle = make_cycle()
    login(client, mine["student"])
    client.post(
        f"/assessments/{cycle.id}/self",
        data={"level": levels[5].id, "evidence": "Evidence only I should see 9034"},
    )
    client.post("/sign-out")
    for reader in (mine["preceptor"], mine["director"]):
        login(client, reader)
        html = _html(client.get(f"/assessments/{cycle.id}"))
        assert "Evidence only I should see 9034" not in html
        assert levels[5].label not in html
        client.post("/sign-out")


def test_bad_self_assessment_comes_back_with_messages(client, db, scaled, make_cycle):
    cycle = make_cycle()
    login(client, scaled["mine"]["student"])
    response = client.post(
        f"/assessments/{cycle.id}/self",
        data={"evidence": "", "interpretation": "What I typed stays"},
    )
    assert response.status_code == 400
    html = _html(response)
    assert "Choose one of the levels on the scale." in html
    assert "Say what you based your rating on." in html
    assert "What I typed stays" in html
    response = client.post(
        f"/assessments/{cycle.id}/self", data={"level": "999999", "evidence": "fine"}
    )
    assert response.status_code == 400  # not on the scale


def test_reaction_makes_a_goal_in_one_step(client, db, scaled, make_cycle):
    cycle = make_cycle(CycleStatus.REVEALED)
    login(client, scaled["mine"]["student"])
    page = client.get(f"/assessments/{cycle.id}/reaction")
    assert "one level above your preceptor" in _html(page)
    response = client.post(
        f"/assessments/{cycle.id}/reaction",
        data={
            "reaction": "Fair",
            "plan": "Summarise the plan at the end of each visit",
            "make_goal": "y",
            "goal_title": "Close every visit with a summary",
        },
    )
    assert response.status_code == 302
    goal = db.session.scalar(select(LearningGoal))
    assert goal.from_assessment_id == cycle.id
    assert goal.latest.actions == "Summarise the plan at the end of each visit"
    html = _html(client.get(f"/assessments/{cycle.id}"))
    assert "Close every visit with a summary" in html
    assert f"/goals/{goal.id}" in html
    goal_page = _html(client.get(f"/goals/{goal.id}"))
    assert "Made from the plan of an assessment" in goal_page
    assert f"/assessments/{cycle.id}" in goal_page
    db.session.expire_all()
    assert db.session.get(AssessmentCycle, cycle.id).status is CycleStatus.AWAITING_SIGNATURE


def test_reaction_with_goal_but_no_title_writes_nothing(client, db, scaled, make_cycle):
    cycle = make_cycle(CycleStatus.REVEALED)
    login(client, scaled["mine"]["student"])
    response = client.post(
        f"/assessments/{cycle.id}/reaction",
        data={"reaction": "Typed reaction", "plan": "Typed plan", "make_goal": "y"},
    )
    assert response.status_code == 400
    assert "Typed reaction" in _html(response)
    db.session.expire_all()
    assert db.session.get(AssessmentCycle, cycle.id).status is CycleStatus.REVEALED
    assert db.session.scalar(select(func.count(LearningGoal.id))) == 0


def test_signing_needs_the_password_again(client, db, scaled, make_cycle):
    mine = scaled["mine"]
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    login(client, mine["preceptor"])
    response = client.post(
        f"/assessments/{cycle.id}/sign",
        data={"meaning": "cosigned_supervisor", "password": "wrong password", **_seen(cycle)},
    )
    assert response.status_code == 400
    assert "That password is not right" in _html(response)
    failed = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "assessment.signature_failed")
    ).all()
    assert len(failed) == 1 and failed[0].actor_id == mine["preceptor"].id

    response = client.post(
        f"/assessments/{cycle.id}/sign",
        data={"meaning": "cosigned_supervisor", "password": TEST_PASSWORD, **_seen(cycle)},
    )
    assert response.status_code == 302
    html = _html(client.get(f"/assessments/{cycle.id}"))
    assert "Signature valid" in html
    assert "Co-signed as supervising preceptor" in html
    assert mine["preceptor"].name in html
    again = client.post(
        f"/assessments/{cycle.id}/sign",
        data={"meaning": "cosigned_supervisor", "password": TEST_PASSWORD, **_seen(cycle)},
    )
    assert again.status_code == 409
    assert "already signed" in _html(again)


def test_wrong_passwords_at_signing_are_rate_limited(client, db, scaled, make_cycle):
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    login(client, scaled["mine"]["preceptor"])
    codes = [
        client.post(
            f"/assessments/{cycle.id}/sign",
            data={"meaning": "cosigned_supervisor", "password": f"guess {n}", **_seen(cycle)},
        ).status_code
        for n in range(6)
    ]
    assert codes == [400] * 5 + [429]


def test_tampered_record_shows_a_prominent_warning(client, db, scaled, make_cycle):
    cycle = make_cycle(CycleStatus.SIGNED)
    db.session.execute(
        text("UPDATE self_assessment SET plan = 'Rewritten plan' WHERE cycle_id = :id"),
        {"id": cycle.id},
    )
    db.session.commit()
    login(client, scaled["mine"]["director"])
    html = _html(client.get(f"/assessments/{cycle.id}"))
    assert "Signature invalid" in html
    assert "Signature valid" not in html


def test_addendum_through_the_page(client, db, scaled, make_cycle):
    cycle = make_cycle(CycleStatus.SIGNED)
    login(client, scaled["mine"]["student"])
    response = client.post(
        f"/assessments/{cycle.id}/addenda",
        data={"body": "The visit was on a Tuesday.", "password": "wrong"},
    )
    assert response.status_code == 400
    assert "The visit was on a Tuesday." in _html(response)
    response = client.post(
        f"/assessments/{cycle.id}/addenda",
        data={"body": "The visit was on a Tuesday.", "password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    html = _html(client.get(f"/assessments/{cycle.id}"))
    assert "The visit was on a Tuesday." in html
    assert "signed, valid" in html


def test_return_with_comment(client, db, scaled, make_cycle):
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    login(client, scaled["mine"]["preceptor"])
    empty = client.post(f"/assessments/{cycle.id}/return", data={"comment": "", **_seen(cycle)})
    assert empty.status_code == 400
    response = client.post(
        f"/assessments/{cycle.id}/return", data={"comment": "Please name a date", **_seen(cycle)}
    )
    assert response.status_code == 302
    client.post("/sign-out")
    login(client, scaled["mine"]["student"])
    home = _html(client.get("/"))
    assert "Returned to you: look again" in home


def test_queues_on_home_pages(client, db, scaled, make_cycle):
    mine = scaled["mine"]
    make_cycle()
    make_cycle(CycleStatus.AWAITING_SIGNATURE)
    login(client, mine["preceptor"])
    html = _html(client.get("/"))
    assert "Assessments to rate or sign, oldest first" in html
    assert "Review and sign" in html and ">Rate<" in html
    client.post("/sign-out")
    login(client, mine["student"])
    assert "Rate yourself" in _html(client.get("/"))


def test_calibration_chart_and_table(client, db, scaled, make_cycle):
    mine = scaled["mine"]
    make_cycle(CycleStatus.SIGNED, self_level=4, preceptor_level=2)
    make_cycle(CycleStatus.REVEALED, self_level=3, preceptor_level=3)
    login(client, mine["director"])
    html = _html(client.get(f"/assessments/calibration/{mine['student'].id}"))
    assert "<svg" in html and 'role="img"' in html
    assert "<table" in html
    assert "self 2 above" in html and "same" in html
    body = html.split("<body>", 1)[1]
    assert "<script" not in body  # the chart needs no JavaScript


def test_calibration_empty_state(client, db, scaled):
    login(client, scaled["mine"]["student"])
    html = _html(client.get(f"/assessments/calibration/{scaled['mine']['student'].id}"))
    assert "Nothing to show yet" in html


def test_pages_keep_a_constant_query_count(client, db, scaled, make_cycle, count_queries):
    mine = scaled["mine"]
    for _ in range(2):
        make_cycle(CycleStatus.SIGNED)
        make_cycle()
    paths = {
        "calibration": f"/assessments/calibration/{mine['student'].id}",
        "home": "/",
        "list": "/assessments/",
    }

    def measure():
        counts = {}
        for who in ("preceptor", "student"):
            login(client, mine[who])
            for name, path in paths.items():
                with count_queries() as statements:
                    assert client.get(path).status_code == 200
                counts[f"{who} {name}"] = len(statements)
            client.post("/sign-out")
        return counts

    few = measure()
    for _ in range(10):
        make_cycle(CycleStatus.SIGNED)
        make_cycle(CycleStatus.AWAITING_SIGNATURE)
        make_cycle()
    assert measure() == few


@pytest.mark.parametrize("action", ["sign", "return"])
def test_a_review_page_opened_on_an_older_version_is_refused(
    client, db, scaled, make_cycle, action
):
    """The preceptor opens the review page; meanwhile (another tab) it is returned and the
    student rewrites the plan. The old page must not sign — or return — the new text."""
    mine = scaled["mine"]
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    login(client, mine["preceptor"])
    opened = _version_field(_html(client.get(f"/assessments/{cycle.id}/sign")))
    assert opened == str(_seen(cycle)["version"])
    client.post(f"/assessments/{cycle.id}/return", data={"comment": "Dates?", **_seen(cycle)})
    client.post("/sign-out")
    login(client, mine["student"])
    rewritten = "Ask for feedback on Tuesdays, starting 3 March"
    assert (
        client.post(
            f"/assessments/{cycle.id}/reaction", data={"reaction": "Fair", "plan": rewritten}
        ).status_code
        == 302
    )
    client.post("/sign-out")
    login(client, mine["preceptor"])

    if action == "sign":
        data = {"meaning": "cosigned_supervisor", "password": TEST_PASSWORD}
    else:
        data = {"comment": "Still no dates"}
    stale = client.post(f"/assessments/{cycle.id}/{action}", data={**data, "version": opened})

    assert stale.status_code == 409
    page = _html(stale)
    assert "changed after you opened it" in page
    assert rewritten in page  # the current text is what the page now shows
    current = _seen(cycle)["version"]
    assert _version_field(page) == str(current)  # signing from here signs what is shown
    db.session.expire_all()
    refreshed = db.session.get(AssessmentCycle, cycle.id)
    assert refreshed.status is CycleStatus.AWAITING_SIGNATURE and refreshed.signature_id is None
    signed = client.post(
        f"/assessments/{cycle.id}/sign",
        data={"meaning": "cosigned_supervisor", "password": TEST_PASSWORD, "version": current},
    )
    assert signed.status_code == 302


def test_a_review_form_without_a_version_is_refused(client, db, scaled, make_cycle):
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    login(client, scaled["mine"]["preceptor"])
    response = client.post(
        f"/assessments/{cycle.id}/sign",
        data={"meaning": "cosigned_supervisor", "password": TEST_PASSWORD},
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(AssessmentCycle, cycle.id).signature_id is None


def test_a_reaction_sent_after_signing_stays_on_the_page_with_why(client, db, scaled, make_cycle):
    for status, why in (
        (CycleStatus.SIGNED, "signed this assessment before your text arrived"),
        (CycleStatus.AWAITING_SIGNATURE, "were already sent"),
    ):
        cycle = make_cycle(status)
        db.session.commit()
        login(client, scaled["mine"]["student"])
        response = client.post(
            f"/assessments/{cycle.id}/reaction",
            data={"reaction": "Typed too late, kept", "plan": "A plan I typed"},
        )
        assert response.status_code == 409, status
        html = _html(response)
        assert why in html
        assert "Typed too late, kept" in html and "A plan I typed" in html
        assert "for signature</button>" not in html  # nothing offered that would be refused
        db.session.expire_all()
        saved = db.session.get(AssessmentCycle, cycle.id)
        assert saved.status is status
        assert saved.self_assessment.reaction == "Fair; I overrated myself"
        client.post("/sign-out")
