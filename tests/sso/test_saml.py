"""School sign-in over SAML 2.0 against a real pysaml2 identity provider on loopback."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
import saml2
import xmlschema
from sqlalchemy import func, select

from clerkship import signed_content
from clerkship.assessments import service as assessments
from clerkship.models import (
    AssessmentCycle,
    AuditEvent,
    CycleStatus,
    Enrollment,
    Role,
    SamlAssertion,
    SignInSession,
    User,
)

FIELD = re.compile(r'name="(SAMLResponse|RelayState)" value="([^"]*)"')
ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
SP_ENTITY = "http://127.0.0.1:5000/sso/saml/metadata"


def person(user, **extra) -> dict:
    return {
        "uid": [f"u{user.id}"],
        "mail": [user.email],
        "displayName": [user.name],
        **extra,
    }


def through_idp(client, start: str) -> tuple[str, dict]:
    """Follow the app to the IdP; returns where the IdP's form posts, and its fields."""
    to_idp = client.get(start)
    assert to_idp.status_code == 302, to_idp.get_data(as_text=True)[:300]
    page = requests.get(to_idp.location, allow_redirects=False, timeout=10)
    assert page.status_code == 200, page.text[:500]
    fields = {name: html.unescape(value) for name, value in FIELD.findall(page.text)}
    return urlsplit(html.unescape(ACTION.search(page.text).group(1))).path, fields


def sign_in(client, idp, who: dict):
    idp.person = who
    path, fields = through_idp(client, "/sign-in/school/saml")
    assert path == "/sso/saml/acs"
    return client.post(path, data=fields)


def untrusted(response, db=None, reason: str | None = None, detail: str = ""):
    """Refused with the page for an answer that cannot be trusted; ``reason``: the check that
    refused it, as the audit log recorded (so a test cannot pass on some other failure)."""
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    assert "could not be checked" in response.get_data(as_text=True)
    if reason is not None:
        last = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.like("auth.%_refused"))
            .order_by(AuditEvent.id.desc())
        ).first()
        assert last.after["reason"] == reason and detail in last.after["detail"], last.after


def test_metadata_validates_against_the_saml_metadata_schema(client, saml_idp_on):
    response = client.get("/sso/saml/metadata")
    assert response.status_code == 200
    assert response.mimetype == "application/samlmetadata+xml"
    schemas = Path(saml2.__file__).parent / "data" / "schemas"
    schema = xmlschema.XMLSchema(str(schemas / "saml-schema-metadata-2.0.xsd"))
    xml = response.get_data(as_text=True)
    schema.validate(xml)  # raises with the first violation
    assert 'WantAssertionsSigned="true"' in xml and 'AuthnRequestsSigned="true"' in xml
    assert "http://127.0.0.1:5000/sso/saml/acs" in xml
    assert "http://127.0.0.1:5000/sso/saml/slo" in xml
    assert 'use="signing"' in xml and 'use="encryption"' in xml
    assert "md5" not in xml and "sha1" not in xml  # no weak algorithms advertised
    # A broken document does not pass, so the check above can fail.
    assert not schema.is_valid(xml.replace("SPSSODescriptor", "SPDescriptor"))


def test_metadata_answers_in_development_with_a_generated_key(app, client, tmp_path, monkeypatch):
    """No SAML settings at all: the key pair is made in the instance folder on first use."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    monkeypatch.setitem(app.config, "SAML_SP_KEY", None)
    monkeypatch.setitem(app.config, "SAML_SP_CERT", None)
    response = client.get("/sso/saml/metadata")
    assert response.status_code == 200 and b"X509Certificate" in response.data
    assert (tmp_path / "saml-sp-key.pem").stat().st_mode & 0o077 == 0
    cert = (tmp_path / "saml-sp-cert.pem").read_text().splitlines()[1]
    assert cert in response.get_data(as_text=True)  # the generated certificate is the one shown


def test_metadata_is_404_in_production_without_a_key(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "ENV", "production")
    monkeypatch.setitem(app.config, "SAML_SP_KEY", None)
    assert client.get("/sso/saml/metadata").status_code == 404


def test_valid_sign_in_links_the_rostered_person_by_email(client, saml_idp_on, world, db):
    student = world["mine"]["student"]
    response = sign_in(client, saml_idp_on, person(student))
    assert response.status_code == 302 and response.location == "/"
    assert client.get("/").status_code == 200
    db.session.expire_all()
    assert student.school_sign_in_at is not None
    assert db.session.scalar(select(SignInSession).where(SignInSession.user_id == student.id))
    assert saml_idp_on.force_authn_seen == [False]
    assert db.session.scalar(select(func.count()).select_from(SamlAssertion)) >= 1


def test_sign_in_by_eppn_from_the_roster(client, saml_idp_on, world, db):
    preceptor = world["other"]["preceptor"]
    preceptor.external_id = "p123@school.edu"
    db.session.commit()
    who = person(preceptor, mail=["a-different@school.edu"])
    who["eduPersonPrincipalName"] = ["p123@school.edu"]
    assert sign_in(client, saml_idp_on, who).status_code == 302
    assert preceptor.name in client.get("/").get_data(as_text=True)


def test_encrypted_assertion_is_accepted(client, saml_idp_on, world):
    saml_idp_on.mode = "encrypted"
    response = sign_in(client, saml_idp_on, person(world["mine"]["student"]))
    assert "EncryptedAssertion" in saml_idp_on.last_response
    assert "displayName" not in saml_idp_on.last_response  # the attributes travel encrypted
    assert response.status_code == 302 and response.location == "/"


def test_unsigned_assertion_refused(client, saml_idp_on, world, db):
    saml_idp_on.mode = "unsigned"
    response = sign_in(client, saml_idp_on, person(world["mine"]["student"]))
    untrusted(response, db, "SignatureError", "Signature missing")
    assert client.get("/").status_code == 302  # not signed in


def test_assertion_signed_with_another_key_refused(client, saml_idp_on, world, db):
    saml_idp_on.mode = "wrong_key"
    untrusted(
        sign_in(client, saml_idp_on, person(world["mine"]["student"])),
        db,
        "SignatureError",
        "Failed to verify",
    )
    assert client.get("/").status_code == 302


def test_expired_assertion_refused(client, saml_idp_on, world, db):
    saml_idp_on.mode = "expired"
    untrusted(
        sign_in(client, saml_idp_on, person(world["mine"]["student"])),
        db,
        "VerificationError",
        "Condition not OK",
    )


def test_assertion_for_another_audience_refused(client, saml_idp_on, world, db):
    saml_idp_on.mode = "wrong_audience"
    untrusted(
        sign_in(client, saml_idp_on, person(world["mine"]["student"])),
        db,
        "Exception",
        "AudienceRestrictions",
    )


def test_the_same_response_posted_twice_is_refused(client, saml_idp_on, world, db):
    saml_idp_on.person = person(world["mine"]["student"])
    path, fields = through_idp(client, "/sign-in/school/saml")
    assert client.post(path, data=fields).status_code == 302
    client.post("/sign-out")
    untrusted(client.post(path, data={**fields, "relayed": "1"}), db, "no_request")


def test_a_replayed_assertion_id_is_refused_even_in_a_new_valid_response(
    client, saml_idp_on, world, db
):
    """The IdP signs a fresh response to our new request but reuses the assertion's ID: only
    the database of used ids can tell."""
    student = world["mine"]["student"]
    assert sign_in(client, saml_idp_on, person(student)).status_code == 302
    client.post("/sign-out")
    saml_idp_on.mode = "replay"
    untrusted(sign_in(client, saml_idp_on, person(student)), db, "replayed")


def test_wrong_relay_state_refused(client, saml_idp_on, world, db):
    saml_idp_on.person = person(world["mine"]["student"])
    path, fields = through_idp(client, "/sign-in/school/saml")
    untrusted(client.post(path, data={**fields, "RelayState": "forged"}), db, "wrong_relay_state")


def test_unsolicited_response_refused(client, saml_idp_on, world, app, db):
    """A response for a request started in another browser (login CSRF) is refused."""
    saml_idp_on.person = person(world["mine"]["student"])
    path, fields = through_idp(client, "/sign-in/school/saml")
    victim = app.test_client()
    relay = victim.post(path, data=fields)
    # No session here: the page posts the fields again from our own site...
    assert relay.status_code == 200 and 'name="relayed"' in relay.get_data(as_text=True)
    # ...and without a request started in this browser, it is refused.
    untrusted(victim.post(path, data={**fields, "relayed": "1"}), db, "no_request")
    assert victim.get("/").status_code == 302


def test_unknown_person_refused_with_a_clear_page_and_no_account(client, saml_idp_on, db):
    before = db.session.scalar(select(func.count()).select_from(User))
    response = sign_in(
        client, saml_idp_on, {"uid": ["x"], "mail": ["nobody@school.edu"], "displayName": ["N"]}
    )
    assert response.status_code == 403
    assert "not linked to anyone" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User)) == before


def test_deactivated_person_refused(client, saml_idp_on, world, db):
    student = world["mine"]["student"]
    student.active = False
    db.session.commit()
    response = sign_in(client, saml_idp_on, person(student))
    assert response.status_code == 403
    assert "has been closed" in response.get_data(as_text=True)


# ---- opt-in account creation ---------------------------------------------------------------


def _current_cohort(world, db):
    from clerkship import clock

    cohort = world["mine"]["cohort"]
    today = clock.today()
    assert cohort.start_date <= today <= cohort.end_date, "the world's cohort runs today"
    return cohort


def test_program_opt_in_creates_a_student_in_its_current_cohort(client, saml_idp_on, world, db):
    cohort = _current_cohort(world, db)
    world["mine"]["program"].school_sign_up_domains = "students.school.edu"
    db.session.commit()
    who = {
        "uid": ["new1"],
        "mail": ["New.Student@students.school.edu"],
        "displayName": ["New Student"],
        "eduPersonPrincipalName": ["new1@school.edu"],
        "eduPersonAffiliation": ["member", "student"],
    }
    assert sign_in(client, saml_idp_on, who).status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new.student@students.school.edu"))
    assert user is not None and user.role is Role.STUDENT and user.external_id == "new1@school.edu"
    assert db.session.scalar(
        select(Enrollment).where(
            Enrollment.student_id == user.id, Enrollment.cohort_id == cohort.id
        )
    )
    assert "New Student" in client.get("/").get_data(as_text=True)


def test_opt_in_refuses_other_domains_and_non_students(client, saml_idp_on, world, db):
    _current_cohort(world, db)
    world["mine"]["program"].school_sign_up_domains = "students.school.edu"
    db.session.commit()
    faculty = {
        "uid": ["f1"],
        "mail": ["f1@students.school.edu"],
        "eduPersonAffiliation": ["faculty", "member"],
    }
    assert sign_in(client, saml_idp_on, faculty).status_code == 403
    # Students (eduPersonAffiliation), so only the domain or the program can refuse them.
    elsewhere = {"uid": ["e1"], "mail": ["e1@school.edu"], "eduPersonAffiliation": ["student"]}
    assert sign_in(client, saml_idp_on, elsewhere).status_code == 403
    # Two programs listing the domain: nobody can say which, so nobody is created.
    world["other"]["program"].school_sign_up_domains = "students.school.edu"
    db.session.commit()
    both = {
        "uid": ["b1"],
        "mail": ["b1@students.school.edu"],
        "eduPersonAffiliation": ["student"],
    }
    assert sign_in(client, saml_idp_on, both).status_code == 403
    emails = ["f1@students.school.edu", "e1@school.edu", "b1@students.school.edu"]
    assert not db.session.scalar(select(User).where(User.email.in_(emails)))


def test_opt_in_refuses_when_the_idp_does_not_say_student(client, saml_idp_on, world, db):
    # Staff and alumni share the student domain: without an affiliation, nobody is created.
    _current_cohort(world, db)
    world["mine"]["program"].school_sign_up_domains = "students.school.edu"
    db.session.commit()
    silent = {"uid": ["n1"], "mail": ["n1@students.school.edu"], "displayName": ["N One"]}
    assert sign_in(client, saml_idp_on, silent).status_code == 403
    alum = {**silent, "uid": ["n2"], "mail": ["n2@students.school.edu"]}
    alum["eduPersonAffiliation"] = ["alum", "member"]
    assert sign_in(client, saml_idp_on, alum).status_code == 403
    emails = ["n1@students.school.edu", "n2@students.school.edu"]
    assert not db.session.scalar(select(User).where(User.email.in_(emails)))
    last = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "auth.school_sign_in_refused")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert last.after["reason"] == "unknown"


# ---- co-signing ----------------------------------------------------------------------------


def test_cosigning_after_saml_sign_in_forces_authn_and_records_it(
    client, saml_idp_on, make_cycle, world, db
):
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    db.session.commit()
    preceptor = world["mine"]["preceptor"]
    assert sign_in(client, saml_idp_on, person(preceptor)).status_code == 302
    sign_url = f"/assessments/{cycle.id}/sign"
    page = client.get(sign_url).get_data(as_text=True)
    assert "Confirm with your school account" in page and 'name="password"' not in page
    data = {"meaning": "reviewed_and_agreed", "version": cycle.version_id}
    assert client.post(sign_url, data=data).status_code == 400  # no fresh sign-in yet

    saml_idp_on.logged_in_at -= 600  # the IdP session is ten minutes old
    path, fields = through_idp(client, f"/sign-in/school/confirm?next={sign_url}")
    assert saml_idp_on.force_authn_seen[-1] is True  # ForceAuthn="true" was asked
    back = client.post(path, data=fields)
    assert back.status_code == 302 and back.location == sign_url
    signed = client.post(sign_url, data=data)
    assert signed.status_code == 302, signed.get_data(as_text=True)[:1000]
    db.session.expire_all()
    cycle = db.session.get(AssessmentCycle, cycle.id)
    assert cycle.status is CycleStatus.SIGNED
    auth = cycle.signature.authentication
    assert auth["method"] == "saml" and auth["issuer"] == saml_idp_on.entity_id and auth["at"]
    assert signed_content.verify(cycle.signature, assessments.cosigned_record(cycle))


def test_an_idp_that_ignores_force_authn_gives_no_fresh_proof(
    client, saml_idp_on, make_cycle, world, db
):
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    db.session.commit()
    assert sign_in(client, saml_idp_on, person(world["mine"]["preceptor"])).status_code == 302
    saml_idp_on.logged_in_at -= 600
    saml_idp_on.mode = "ignore_force"
    path, fields = through_idp(
        client, f"/sign-in/school/confirm?next=/assessments/{cycle.id}/sign"
    )
    untrusted(client.post(path, data=fields), db, "not_fresh")
    data = {"meaning": "reviewed_and_agreed", "version": cycle.version_id}
    assert client.post(f"/assessments/{cycle.id}/sign", data=data).status_code == 400


def test_fresh_sign_in_as_someone_else_signs_nothing(client, saml_idp_on, make_cycle, world, db):
    cycle = make_cycle(CycleStatus.AWAITING_SIGNATURE)
    db.session.commit()
    assert sign_in(client, saml_idp_on, person(world["mine"]["preceptor"])).status_code == 302
    saml_idp_on.person = person(world["mine"]["student"])
    path, fields = through_idp(
        client, f"/sign-in/school/confirm?next=/assessments/{cycle.id}/sign"
    )
    response = client.post(path, data=fields)
    assert response.status_code == 403 and "someone else" in response.get_data(as_text=True)


# ---- single logout -------------------------------------------------------------------------


def _session_row(db, user):
    db.session.expire_all()
    return db.session.scalars(
        select(SignInSession).where(SignInSession.user_id == user.id).order_by(SignInSession.id)
    ).all()[-1]


def test_sign_out_ends_the_idp_session_too(client, saml_idp_on, world, db):
    student = world["mine"]["student"]
    assert sign_in(client, saml_idp_on, person(student)).status_code == 302
    out = client.post("/sign-out")
    # A page that goes on to the IdP (a redirect from the form would break CSP form-action).
    assert out.status_code == 200
    link = html.unescape(re.search(r'id="saml-continue" href="([^"]+)"', out.text).group(1))
    assert link.startswith(saml_idp_on.base + "/slo?SAMLRequest=")
    assert _session_row(db, student).ended_at is not None  # ended here before the IdP answers
    assert client.get("/").status_code == 302
    back = requests.get(link, allow_redirects=False, timeout=10)
    assert back.status_code == 302
    assert len(saml_idp_on.logout_requests) == 1
    assert saml_idp_on.logout_requests[0].name_id.text == f"idp-u{student.id}"
    target = urlsplit(back.headers["Location"])
    assert target.path == "/sso/saml/slo" and "SAMLResponse" in parse_qs(target.query)
    done = client.get(target.path, query_string=target.query)
    assert done.status_code == 302 and done.location == "/sign-in"
    assert "signed out of your school account" in client.get("/sign-in").get_data(as_text=True)
    # The same answer again is refused: it answers no request of this browser any more.
    untrusted(client.get(target.path, query_string=target.query), db, "logout_unsigned")


def test_idp_initiated_logout_ends_our_session(client, saml_idp_on, world, db):
    student = world["mine"]["student"]
    assert sign_in(client, saml_idp_on, person(student)).status_code == 302
    url = urlsplit(saml_idp_on.logout_request_url(SP_ENTITY))
    answer = client.get(url.path, query_string=url.query)
    assert answer.status_code == 302 and answer.location.startswith(saml_idp_on.base + "/slo?")
    assert "SAMLResponse" in parse_qs(urlsplit(answer.location).query)
    assert _session_row(db, student).ended_reason == "signed_out"
    assert client.get("/").status_code == 302


def test_a_logout_request_is_honoured_once(client, saml_idp_on, world, db):
    # Captured on its way (a proxy log, the browser's history), the IdP's signed request must
    # not end the person's next session.
    student = world["mine"]["student"]
    assert sign_in(client, saml_idp_on, person(student)).status_code == 302
    url = urlsplit(saml_idp_on.logout_request_url(SP_ENTITY))
    assert client.get(url.path, query_string=url.query).status_code == 302
    assert client.get("/").status_code == 302  # signed out
    assert sign_in(client, saml_idp_on, person(student)).status_code == 302
    untrusted(client.get(url.path, query_string=url.query), db, "replayed")
    assert client.get("/").status_code == 200  # still signed in
    assert _session_row(db, student).ended_at is None
    # A new request from the IdP is honoured.
    fresh = urlsplit(saml_idp_on.logout_request_url(SP_ENTITY))
    assert client.get(fresh.path, query_string=fresh.query).status_code == 302
    assert _session_row(db, student).ended_reason == "signed_out"


def test_logout_request_signed_by_another_key_is_refused(client, saml_idp_on, world, db):
    student = world["mine"]["student"]
    assert sign_in(client, saml_idp_on, person(student)).status_code == 302
    url = urlsplit(saml_idp_on.logout_request_url(SP_ENTITY, key="other"))
    untrusted(client.get(url.path, query_string=url.query), db, "logout_unsigned")
    assert client.get("/").status_code == 200  # still signed in
    # Unsigned (the signature dropped from the query): refused too.
    query = {k: v[0] for k, v in parse_qs(url.query).items() if k not in ("Signature",)}
    untrusted(client.get(url.path, query_string=query), db, "logout_unsigned")
    assert _session_row(db, student).ended_at is None


def test_password_sign_out_does_not_go_to_the_idp(client, saml_idp_on, world):
    from tests.conftest import login

    login(client, world["mine"]["student"])
    assert client.post("/sign-out").location == "/sign-in"


def test_director_lists_sign_up_domains_on_the_program_form(client, world, db):
    from tests.conftest import login

    mine, other = world["mine"], world["other"]
    login(client, mine["director"])
    url = f"/programs/{mine['program'].id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert 'name="school_sign_up_domains"' in page
    data = {"name": "LIC", "password_for_school_accounts": "y"}
    wrong = client.post(url, data={**data, "school_sign_up_domains": "students.school.edu evil"})
    assert wrong.status_code == 400
    assert "is not an e-mail domain" in wrong.get_data(as_text=True)
    assert "students.school.edu evil" in wrong.get_data(as_text=True)  # kept as typed
    typed = "Students.School.edu, @med.school.edu"
    assert client.post(url, data={**data, "school_sign_up_domains": typed}).status_code == 302
    db.session.expire_all()
    assert mine["program"].school_sign_up_domains == "students.school.edu\nmed.school.edu"
    assert other["program"].school_sign_up_domains == ""
    # The other program's form is not this director's.
    assert client.get(f"/programs/{other['program'].id}/edit").status_code == 404


def test_unreadable_idp_metadata_gives_a_readable_page(client, app, monkeypatch, tmp_path):
    """A deployment whose metadata file is gone (or URL down): 503 with words, not a 500."""
    monkeypatch.setitem(app.config, "SAML_IDP_METADATA", str(tmp_path / "missing.xml"))
    response = client.get("/sign-in/school/saml")
    assert response.status_code == 503
    assert "cannot be reached" in response.get_data(as_text=True)
    acs = client.post("/sso/saml/acs", data={"SAMLResponse": "eA==", "relayed": "1"})
    assert acs.status_code in (400, 503)


def test_acs_is_csrf_exempt_only_because_the_signed_answer_replaces_the_token(
    client, app, saml_idp_on, world, db, monkeypatch
):
    """With CSRF on, the IdP's POST (no CSRF token) signs in; a forged one does not, and the
    rest of the app still wants its token."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    saml_idp_on.mode = "wrong_key"
    untrusted(sign_in(client, saml_idp_on, person(world["mine"]["student"])), db)
    saml_idp_on.mode = None
    assert sign_in(client, saml_idp_on, person(world["mine"]["student"])).status_code == 302
    assert client.get("/").status_code == 200
    assert client.post("/sign-out").status_code == 400  # no token: CSRF still guards the rest
