"""The read API: its OpenAPI document, tokens (hashed, shown once, expiring, revocable,
audited, rate-limited), cursor pagination at a constant query count, filters, and what an
assessment tells (blind ratings, signature validity, competency URIs)."""

from __future__ import annotations

from datetime import timedelta

from openapi_spec_validator import validate
from sqlalchemy import func, select

from clerkship import clock
from clerkship.api import tokens
from clerkship.models import ApiToken, AuditEvent, Competency, CycleStatus, Framework
from tests.api.conftest import bearer
from tests.conftest import login
from tests.test_access_matrix import _cycles


def test_the_openapi_document_is_valid_openapi_3_1(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)
    assert spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    assert "/api/v1/assessments/{cycle_id}" in spec["paths"]


def test_a_token_is_shown_once_and_stored_only_as_a_hash(client, db, world):
    program = world["mine"]["program"]
    login(client, world["mine"]["director"])
    page = client.post(
        f"/programs/{program.id}/api-tokens",
        data={"name": "Dashboard", "days": "30", "submission": "x" * 24},
    )
    assert page.status_code == 201
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    secret = html.split('class="token-secret">')[1].split("<")[0]
    assert secret.startswith("clk_")
    stored = db.session.scalar(select(ApiToken).where(ApiToken.program_id == program.id))
    assert secret not in (stored.secret_hash, stored.prefix)
    assert stored.secret_hash == tokens.digest(secret)
    again = client.get(f"/programs/{program.id}/api-tokens").get_data(as_text=True)
    assert secret not in again and stored.prefix in again
    assert client.get("/api/v1/programs", headers=bearer(secret)).status_code == 200


def test_the_token_form_refuses_bad_input_and_keeps_it(client, world):
    program = world["mine"]["program"]
    login(client, world["mine"]["director"])
    page = client.post(
        f"/programs/{program.id}/api-tokens",
        data={"name": "Dashboard LMS", "days": "9000", "submission": "y" * 24},
    )
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "Dashboard LMS" in html and 'aria-invalid="true"' in html


def test_expired_revoked_and_forged_tokens_are_refused(client, db, world, api_tokens):
    secret = api_tokens["director"]
    token = tokens.authenticate(secret)
    assert client.get("/api/v1/cohorts", headers=bearer(secret)).status_code == 200
    token.expires_at = clock.utcnow() - timedelta(seconds=1)
    db.session.commit()
    refused = client.get("/api/v1/cohorts", headers=bearer(secret))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    token.expires_at = clock.utcnow() + timedelta(days=1)
    tokens.revoke_token(world["mine"]["director"], token)
    db.session.commit()
    assert client.get("/api/v1/cohorts", headers=bearer(secret)).status_code == 401
    assert client.get("/api/v1/cohorts", headers=bearer(secret[:-2] + "xx")).status_code == 401
    assert client.get("/api/v1/cohorts", headers={"Authorization": secret}).status_code == 401


def test_a_token_stops_when_its_maker_no_longer_runs_the_program(client, db, world, api_tokens):
    director = world["mine"]["director"]
    world["mine"]["program"].directors.remove(director)
    db.session.commit()
    response = client.get("/api/v1/programs", headers=bearer(api_tokens["director"]))
    assert response.status_code == 200 and response.get_json() == []


def test_every_use_is_audited(client, db, api_tokens, world):
    def uses():
        return db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "api_token.used")
        )

    before = uses()
    client.get("/api/v1/cohorts", headers=bearer(api_tokens["director"]))
    client.get("/api/v1/people", headers=bearer(api_tokens["director"]))
    assert uses() == before + 2
    event = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "api_token.used")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event.actor_id == world["mine"]["director"].id
    assert event.after["path"].startswith("/api/v1/people")


def test_requests_are_rate_limited_per_token(app, client, api_tokens, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    answers = [
        client.get("/api/v1/programs", headers=bearer(api_tokens["director"])).status_code
        for _ in range(4)
    ]
    assert answers == [200, 200, 200, 429]
    # Another token has its own allowance.
    assert client.get("/api/v1/programs", headers=bearer(api_tokens["admin"])).status_code == 200


def _goals(db, world, n):
    from clerkship.goals import service

    student = world["mine"]["student"]
    for i in range(n):
        goal = service.create_goal(student, service.GoalText(title=f"Goal {i}"), [])
        service.share_goal(student, goal, [world["mine"]["preceptor"]])
    db.session.commit()


def _walk(client, secret, path):
    """Every page of a list, and the statements each page ran."""
    items, cursor, pages = [], None, 0
    while True:
        url = path + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=bearer(secret)).get_json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


def test_cursor_pages_cover_everything_once(client, db, world, api_tokens):
    _goals(db, world, 5)
    items, pages = _walk(client, api_tokens["director"], "/api/v1/goals?limit=2")
    ids = [item["id"] for item in items]
    assert len(ids) == 5 and len(set(ids)) == 5 and ids == sorted(ids)
    assert pages == 3


def test_a_page_costs_the_same_queries_at_5_and_50_goals(
    client, db, world, api_tokens, count_queries
):
    secret = api_tokens["director"]

    def cost(n):
        _goals(db, world, n)
        with count_queries() as statements:
            body = client.get("/api/v1/goals?limit=100", headers=bearer(secret)).get_json()
        return len(body["items"]), len(statements)

    small_items, small = cost(5)
    large_items, large = cost(45)
    assert (small_items, large_items) == (5, 50)
    assert small == large


def test_assessments_cost_the_same_queries_at_4_and_12_cycles(
    client, db, world, api_tokens, count_queries
):
    from clerkship.assessments import service
    from clerkship.models import AssessmentCycle

    secret = api_tokens["director"]
    ids = _cycles(world, "mine", db)  # one cycle at each step, the last signed
    with count_queries() as statements:
        four = client.get("/api/v1/assessments", headers=bearer(secret)).get_json()["items"]
    small = len(statements)
    mine = world["mine"]
    competency_id = db.session.get(AssessmentCycle, ids["cycle"]).competency_id
    for _ in range(8):
        service.start_cycle(
            mine["student"],
            student=mine["student"],
            preceptor=mine["preceptor"],
            competency_id=competency_id,
            encounter="Clinic",
        )
    db.session.commit()
    with count_queries() as statements:
        twelve = client.get("/api/v1/assessments", headers=bearer(secret)).get_json()["items"]
    assert (len(four), len(twelve)) == (4, 12)
    assert len(statements) == small, "\n".join(st[:150] for st in statements)


def test_filters_by_student_cohort_and_date(client, db, world, api_tokens):
    _goals(db, world, 2)
    secret = api_tokens["director"]
    mine = world["mine"]

    def count(query):
        return len(
            client.get(f"/api/v1/goals?{query}", headers=bearer(secret)).get_json()["items"]
        )

    assert count(f"student={mine['student'].id}") == 2
    assert count(f"student={world['other']['student'].id}") == 0
    assert count(f"cohort={mine['cohort'].id}") == 2
    assert count(f"cohort={world['other']['cohort'].id}") == 0
    assert count(f"updated_since={clock.today().isoformat()}") == 2
    assert count(f"updated_since={(clock.today() + timedelta(days=1)).isoformat()}") == 0
    people = client.get(
        f"/api/v1/people?role=preceptor&cohort={mine['cohort'].id}", headers=bearer(secret)
    ).get_json()["items"]
    assert [p["id"] for p in people] == [mine["preceptor"].id]


def test_bad_query_strings_are_422_not_500(client, api_tokens):
    secret = api_tokens["director"]
    for query in (
        "cursor=%%%",
        "cursor=aWQ6LTE",
        "limit=0",
        "limit=abc",
        "student=-1",
        "updated_since=nope",
    ):
        response = client.get(f"/api/v1/goals?{query}", headers=bearer(secret))
        assert response.status_code == 422, query
        assert response.is_json


def test_an_assessment_shows_blind_ratings_signature_validity_and_competency_uri(
    app, client, db, world, api_tokens
):
    secret = api_tokens["director"]
    ids = _cycles(world, "mine", db)
    open_cycle = client.get(
        f"/api/v1/assessments/{ids['cycle']}", headers=bearer(secret)
    ).get_json()
    assert open_cycle["self_rating"] is None and open_cycle["signature"] is None
    signed = client.get(
        f"/api/v1/assessments/{ids['signed_cycle']}", headers=bearer(secret)
    ).get_json()
    assert signed["status"] == CycleStatus.SIGNED.value
    assert signed["self_rating"]["value"] == 3 and signed["preceptor_rating"]["value"] == 2
    assert signed["signature"]["valid"] is True
    competency = db.session.get(Competency, signed["competency_id"])
    framework = db.session.get(Framework, competency.framework_id)
    # Shipped frameworks carry their own URIs now (issue 17); others get an instance address.
    base = app.config["BASE_URL"].rstrip("/")
    fallback = f"{base}/frameworks/{framework.code}/competencies/{competency.code}"
    assert signed["competency_uri"] == (competency.uri or fallback)
    # A record changed behind the signature no longer verifies, and the API says so.
    from clerkship.models import PreceptorAssessment

    # Behind the app's back (the models refuse to change a signed record).
    db.session.execute(
        PreceptorAssessment.__table__.update()
        .where(PreceptorAssessment.cycle_id == ids["signed_cycle"])
        .values(went_well="changed afterwards")
    )
    db.session.commit()
    db.session.expire_all()
    again = client.get(f"/api/v1/assessments/{ids['signed_cycle']}", headers=bearer(secret))
    assert again.get_json()["signature"]["valid"] is False


def test_feedback_summary_is_what_the_portfolio_shows(client, db, world, api_tokens):
    from clerkship.portfolios.data import portfolio_data
    from tests.test_access_matrix import _panel_records

    _panel_records(world, "mine", db)
    student = world["mine"]["student"]
    body = client.get(
        f"/api/v1/students/{student.id}/feedback-summary", headers=bearer(api_tokens["director"])
    ).get_json()
    portfolio = portfolio_data(student)
    assert body["count"] == 1
    assert {k: body[k] for k in ("count", "median_score", "responses")} == portfolio["feedback"]


def test_a_goal_agreement_carries_its_signature_check_and_a_tampered_one_is_invalid(
    client, db, world, api_tokens
):
    """The API shows agreements the way every other surface does: checked (issue 13)."""
    from clerkship.goals import service
    from clerkship.models import Signature

    student, preceptor = world["mine"]["student"], world["mine"]["preceptor"]
    goal = service.create_goal(student, service.GoalText(title="Lead a family meeting"), [])
    service.share_goal(student, goal, [preceptor])
    agreement = service.agree(preceptor, goal)
    db.session.commit()
    secret = api_tokens["director"]

    def agreements():
        body = client.get(f"/api/v1/goals/{goal.id}", headers=bearer(secret)).get_json()
        return [(a["preceptor_id"], a["valid"]) for a in body["agreements"]]

    assert agreements() == [(preceptor.id, True)]
    signature = db.session.get(Signature, agreement.signature_id)
    signature.printed_name = "Someone else"
    db.session.commit()
    assert agreements() == [(preceptor.id, False)]
