"""School sign-in over OpenID Connect against a real Authlib provider on loopback."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from clerkship import signed_content
from clerkship.assessments import service as assessments
from clerkship.models import AssessmentCycle, AuditEvent, CycleStatus, SignInSession
from tests.conftest import login


def _claims(user, **extra):
    # email_verified: linking by e-mail needs the provider to vouch for the address.
    return {
        "sub": f"sub-{user.id}",
        "email": user.email,
        "email_verified": True,
        "name": user.name,
        **extra,
    }


def _through_provider(client, start: str) -> tuple[str, dict]:
    """Follow the app to the provider and back; returns the callback path and its query."""
    to_provider = client.get(start)
    assert to_provider.status_code == 302, to_provider.get_data(as_text=True)[:300]
    answer = requests.get(to_provider.location, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    back = urlsplit(answer.headers["Location"])
    return back.path, {k: v[0] for k, v in parse_qs(back.query).items()}


def _sign_in(client, openid, person: dict):
    openid.person = person
    path, query = _through_provider(client, "/sign-in/school")
    assert path == "/sign-in/school/callback", query
    return client.get(path, query_string=query)


def test_valid_sign_in_links_the_rostered_person_by_email(client, openid, world, db):
    student = world["mine"]["student"]
    response = _sign_in(client, openid, _claims(student))
    assert response.status_code == 302 and response.location == "/"
    assert client.get("/").status_code == 200
    db.session.expire_all()
    assert student.school_sign_in_at is not None
    assert db.session.scalar(select(SignInSession).where(SignInSession.user_id == student.id))
    # PKCE was used: the request carried an S256 challenge (the provider requires it).
    assert openid.prompts == [(None, None)]


def test_sign_in_by_external_id_from_the_roster(client, openid, world, db):
    preceptor = world["other"]["preceptor"]
    preceptor.external_id = "P-000123"
    db.session.commit()
    claims = {"sub": "x", "preferred_username": "P-000123", "email": "someone-else@school.edu"}
    assert _sign_in(client, openid, claims).status_code == 302
    page = client.get("/")
    assert preceptor.name in page.get_data(as_text=True)


def test_unknown_person_refused_with_a_clear_page_and_no_account(client, openid, world, db):
    from clerkship.models import User

    before = db.session.scalar(select(User.id).order_by(User.id.desc()).limit(1))
    response = _sign_in(client, openid, {"sub": "nobody", "email": "nobody@school.edu"})
    assert response.status_code == 403
    assert "not linked to anyone" in response.get_data(as_text=True)
    assert db.session.scalar(select(User.id).order_by(User.id.desc()).limit(1)) == before
    assert client.get("/").status_code == 302  # not signed in


def test_deactivated_person_refused(client, openid, world, db):
    student = world["mine"]["student"]
    student.active = False
    db.session.commit()
    response = _sign_in(client, openid, _claims(student))
    assert response.status_code == 403
    assert "has been closed" in response.get_data(as_text=True)


def _last_refusal(db) -> dict:
    return (
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "auth.school_sign_in_refused")
            .order_by(AuditEvent.id.desc())
        )
        .first()
        .after
    )


@pytest.mark.parametrize("verified", [None, False, "true"])
def test_an_email_the_provider_does_not_vouch_for_links_nobody(
    client, openid, world, db, verified
):
    student = world["mine"]["student"]
    claims = _claims(student, email_verified=verified)
    if verified is None:
        del claims["email_verified"]  # the claim absent: not a yes
    response = _sign_in(client, openid, claims)
    assert response.status_code == 403
    assert "not linked to anyone" in response.get_data(as_text=True)
    assert _last_refusal(db)["reason"] == "unknown"
    db.session.expire_all()
    assert student.school_sign_in_at is None


def test_an_email_held_by_someone_with_another_school_id_is_refused(client, openid, world, db):
    # The address was reassigned: the school id says the person signing in is someone else.
    student = world["mine"]["student"]
    student.external_id = "S-000001"
    db.session.commit()
    claims = _claims(student, preferred_username="S-000999")
    response = _sign_in(client, openid, claims)
    assert response.status_code == 403
    assert "not linked to anyone" in response.get_data(as_text=True)
    refusal = _last_refusal(db)
    assert refusal["reason"] == "unknown" and refusal["external_id"] == "S-000999"
    assert "another external id" in refusal["detail"]
    db.session.expire_all()
    assert student.school_sign_in_at is None and student.external_id == "S-000001"
    # Their own school id: signed in as before.
    again = _sign_in(client, openid, _claims(student, preferred_username="S-000001"))
    assert again.status_code == 302 and client.get("/").status_code == 200


def _refused(response):
    assert response.status_code == 400
    assert "could not be checked" in response.get_data(as_text=True)


def test_wrong_state_refused(client, openid, world):
    openid.person = _claims(world["mine"]["student"])
    path, query = _through_provider(client, "/sign-in/school")
    query["state"] = "forged-state"
    _refused(client.get(path, query_string=query))
    assert client.get("/").status_code == 302


def test_wrong_nonce_refused(client, openid, world):
    openid.mode = "wrong_nonce"
    _refused(_sign_in(client, openid, _claims(world["mine"]["student"])))


def test_expired_id_token_refused(client, openid, world):
    openid.mode = "expired"
    _refused(_sign_in(client, openid, _claims(world["mine"]["student"])))


def test_wrongly_signed_id_token_refused(client, openid, world, db):
    openid.mode = "wrong_key"
    _refused(_sign_in(client, openid, _claims(world["mine"]["student"])))
    refusals = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "auth.school_sign_in_refused")
    ).all()
    assert refusals and refusals[-1].after["reason"] != "unknown"


def test_program_can_switch_password_off_for_school_accounts(client, openid, world, db):
    student = world["mine"]["student"]
    assert _sign_in(client, openid, _claims(student)).status_code == 302
    client.post("/sign-out")
    login(client, student)  # still allowed: the program has not switched it off
    client.post("/sign-out")
    world["mine"]["program"].password_for_school_accounts = False
    db.session.commit()
    response = client.post("/sign-in", data={"email": student.email, "password": "x"})
    assert response.status_code == 400
    from tests.conftest import TEST_PASSWORD

    response = client.post("/sign-in", data={"email": student.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "school account" in response.get_data(as_text=True)
    # Someone who never signed in through the school keeps the password.
    login(client, world["mine"]["preceptor"])


def test_cosigning_after_school_sign_in_forces_a_fresh_sign_in_and_records_it(
    client, openid, make_cycle, world, db
):
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    db.session.commit()
    preceptor = world["mine"]["preceptor"]
    assert _sign_in(client, openid, _claims(preceptor)).status_code == 302
    sign_url = f"/assessments/{cycle.id}/sign"
    page = client.get(sign_url).get_data(as_text=True)
    assert "Confirm with your school account" in page and 'name="password"' not in page
    # Signing without the fresh sign-in is refused, and nothing is signed.
    refused = client.post(
        sign_url, data={"meaning": "reviewed_and_agreed", "version": cycle.version_id}
    )
    assert refused.status_code == 400
    db.session.expire_all()
    assert db.session.get(AssessmentCycle, cycle.id).status is CycleStatus.AWAITING_SIGNATURE

    path, query = _through_provider(client, f"/sign-in/school/confirm?next={sign_url}")
    assert openid.prompts[-1] == ("login", "0")  # prompt=login, max_age=0
    assert client.get(path, query_string=query).location == sign_url
    signed = client.post(
        sign_url, data={"meaning": "reviewed_and_agreed", "version": cycle.version_id}
    )
    assert signed.status_code == 302, signed.get_data(as_text=True)[:2000]
    db.session.expire_all()
    cycle = db.session.get(AssessmentCycle, cycle.id)
    assert cycle.status is CycleStatus.SIGNED
    auth = cycle.signature.authentication
    assert auth["method"] == "oidc" and auth["issuer"] == openid.issuer and auth["at"]
    assert signed_content.verify(cycle.signature, assessments.cosigned_record(cycle))
    shown = client.get(f"/assessments/{cycle.id}").get_data(as_text=True)
    assert "signing in with their school account again" in shown and openid.issuer in shown
    # The authentication is signed: changing it breaks the signature.
    cycle.signature.authentication = {**auth, "method": "password"}
    assert not signed_content.verify(cycle.signature, assessments.cosigned_record(cycle))


def test_a_stale_provider_session_is_no_fresh_sign_in(client, openid, make_cycle, world, db):
    """A provider that ignores prompt=login answers with the old auth_time: refused."""
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    db.session.commit()
    preceptor = world["mine"]["preceptor"]
    assert _sign_in(client, openid, _claims(preceptor)).status_code == 302
    openid.logged_in_at -= 600  # the person typed their password ten minutes ago
    to_provider = client.get(f"/sign-in/school/confirm?next=/assessments/{cycle.id}/sign")
    stale = to_provider.location.replace("prompt=login", "prompt=none")
    back = urlsplit(requests.get(stale, allow_redirects=False, timeout=10).headers["Location"])
    _refused(client.get(back.path, query_string=back.query))


def test_password_cosign_records_password_authentication(client, make_cycle, world, db):
    from tests.conftest import TEST_PASSWORD

    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    db.session.commit()
    login(client, world["mine"]["preceptor"])
    response = client.post(
        f"/assessments/{cycle.id}/sign",
        data={
            "meaning": "reviewed_and_agreed",
            "password": TEST_PASSWORD,
            "version": cycle.version_id,
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    signature = db.session.get(AssessmentCycle, cycle.id).signature
    assert signature.authentication["method"] == "password"
    assert signed_content.verify(
        signature, assessments.cosigned_record(signature_cycle(db, cycle))
    )


def signature_cycle(db, cycle):
    return db.session.get(AssessmentCycle, cycle.id)


def test_director_switches_password_sign_in_off_on_the_program_form(client, world, db):
    mine, other = world["mine"], world["other"]
    login(client, mine["director"])
    page = client.get(f"/programs/{mine['program'].id}/edit").get_data(as_text=True)
    assert 'name="password_for_school_accounts"' in page and "checked" in page
    # An unticked box is not sent: the switch goes off.
    response = client.post(f"/programs/{mine['program'].id}/edit", data={"name": "LIC"})
    assert response.status_code == 302
    db.session.expire_all()
    assert mine["program"].password_for_school_accounts is False
    assert other["program"].password_for_school_accounts is True
