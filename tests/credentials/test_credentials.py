"""Issued credentials: schemas, proofs with joserfc, tampering, revocation, wrong key, access."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.jwk import OKPKey
from sqlalchemy import select

from clerkship import signing_keys
from clerkship.api.uris import competency_uri
from clerkship.assessments import service as assessments
from clerkship.credentials import decisions, documents, schemas, service, vcjwt, verify
from clerkship.models import CycleStatus, IssuedCredential
from tests.conftest import TEST_PASSWORD, login


def _payload(token: str) -> dict:
    return vcjwt.peek(token)[1]


def _reencode(token: str, payload: dict) -> str:
    header, _body, signature = token.split(".")
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


def _verify(token: str):
    return service.verify_here(token)


def test_only_cosigned_ratings_at_the_marked_level_are_decisions(db, scaled, make_cycle):
    scaled["mine"]["program"].entrustment_value = 4
    below = make_cycle(CycleStatus.SIGNED, self_level=3, preceptor_level=3)
    unsigned = make_cycle(CycleStatus.AWAITING_SIGNATURE, self_level=5, preceptor_level=5)
    at = make_cycle(CycleStatus.SIGNED, self_level=2, preceptor_level=4)
    assert not decisions.is_entrustment_decision(below)
    assert not decisions.is_entrustment_decision(unsigned)
    assert decisions.is_entrustment_decision(at)
    scaled["mine"]["program"].entrustment_value = None
    assert not decisions.is_entrustment_decision(at)


def test_issued_credentials_validate_and_verify_with_joserfc(app, db, decision, scaled):
    student = scaled["mine"]["student"]
    with app.test_request_context():
        token = service.achievement_jwt(student, student, decision)
        clr = service.clr_jwt(student, student)
    credential = _payload(token)
    assert schemas.problems(schemas.ACHIEVEMENT, credential) == []
    assert schemas.problems(schemas.CLR, _payload(clr)) == []
    # The proof, checked with joserfc directly, as an outside verifier does (Open Badges 3.0,
    # 8.2.3): the header's kid is a URL that answers with the bare public JWK.
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "EdDSA"
    assert header["kid"] == f"{app.config['BASE_URL']}/credentials/keys/{signing_keys.ring().kid}"
    answer = app.test_client().get(urlsplit(header["kid"]).path)
    assert answer.status_code == 200
    jwk = answer.get_json()
    assert jwk == header["jwk"] and set(jwk) == {"kty", "crv", "x"}
    with pytest.warns(Warning):  # joserfc: EdDSA deprecated by RFC 9864 (interop keeps it)
        result = jws.deserialize_compact(token, OKPKey.import_key(jwk), algorithms=["EdDSA"])
    assert json.loads(result.payload)["id"] == credential["id"]
    assert app.test_client().get("/credentials/keys/not-a-key").status_code == 404
    subject = credential["credentialSubject"]
    assert subject["achievement"]["alignment"][0]["targetUrl"] == competency_uri(
        decision.competency
    )
    assert subject["identifier"][0]["identityHash"].startswith("sha256$")
    assert student.email not in json.dumps(credential)
    assert credential["evidence"][0]["id"].endswith(
        f"/credentials/verify?id={credential['id'][9:]}"
    )
    assert len(_payload(clr)["credentialSubject"]["verifiableCredential"]) == 1
    assert _verify(token).state == verify.VALID
    assert _verify(clr).state == verify.VALID


def test_schema_refuses_a_credential_missing_what_the_spec_requires(app, db, decision, scaled):
    from jsonschema import Draft202012Validator

    for name in (schemas.ACHIEVEMENT, schemas.CLR):
        Draft202012Validator.check_schema(schemas.validator(name).schema)
    student = scaled["mine"]["student"]
    with app.test_request_context():
        credential = _payload(service.achievement_jwt(student, student, decision))
    for path in (
        ["issuer"],
        ["name"],
        ["credentialSubject", "achievement", "criteria"],
        ["credentialSubject", "achievement", "alignment", 0, "targetUrl"],
        ["credentialSubject", "identifier", 0, "identityHash"],
        ["credentialStatus", "statusListIndex"],
        ["validFrom"],
    ):
        broken = json.loads(json.dumps(credential))
        target = broken
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        assert schemas.problems(schemas.ACHIEVEMENT, broken), path
    broken = json.loads(json.dumps(credential))
    broken["@context"] = broken["@context"][::-1]
    assert schemas.problems(schemas.ACHIEVEMENT, broken)


def test_downloading_twice_gives_one_record_and_the_same_credential(app, db, decision, scaled):
    student = scaled["mine"]["student"]
    with app.test_request_context():
        first = service.achievement_jwt(student, student, decision)
        second = service.achievement_jwt(student, student, decision)
    assert first == second
    assert len(db.session.scalars(select(IssuedCredential)).all()) == 1


TAMPERINGS = {
    "subject": lambda c: c["credentialSubject"]["identifier"][0].update(identityHash="sha256$0"),
    "achievement": lambda c: c["credentialSubject"]["achievement"].update(name="Anything"),
    "alignment": lambda c: c["credentialSubject"]["achievement"]["alignment"][0].update(
        targetUrl="https://example.org/other"
    ),
    "issuer": lambda c: c["issuer"].update(name="Another School"),
    "issuer id": lambda c: c.update(
        issuer={**c["issuer"], "id": "https://evil.example/i"}, iss="https://evil.example/i"
    ),
    "validFrom": lambda c: c.update(validFrom="2020-01-01T00:00:00Z"),
    "validUntil": lambda c: c.update(validUntil="2999-01-01T00:00:00Z"),
    "status index": lambda c: c["credentialStatus"].update(statusListIndex="99"),
    "status list": lambda c: c.pop("credentialStatus"),
    "evidence": lambda c: c["evidence"][0].update(narrative="Signed by the dean"),
    "id": lambda c: c.update(id="urn:uuid:00000000-0000-0000-0000-000000000000"),
}


@pytest.mark.parametrize("field", sorted(TAMPERINGS))
def test_changing_any_field_fails_verification(app, db, decision, scaled, field):
    student = scaled["mine"]["student"]
    with app.test_request_context():
        token = service.achievement_jwt(student, student, decision)
        payload = _payload(token)
        TAMPERINGS[field](payload)
        verdict = _verify(_reencode(token, payload))
    assert verdict.state == verify.TAMPERED, verdict


def test_a_withdrawing_addendum_revokes_the_credential(app, db, decision, scaled):
    student, preceptor = scaled["mine"]["student"], scaled["mine"]["preceptor"]
    with app.test_request_context():
        token = service.achievement_jwt(student, student, decision)
        assert _verify(token).state == verify.VALID
        with pytest.raises(assessments.AssessmentError):  # the student cannot withdraw it
            assessments.add_addendum(
                student, decision, body="Not me", password=TEST_PASSWORD, withdraws=True
            )
        assessments.add_addendum(
            preceptor,
            decision,
            body="Entrusted too early: withdrawn after the March review.",
            password=TEST_PASSWORD,
            withdraws=True,
        )
        assert _verify(token).state == verify.REVOKED
        assert "withdrawn" in _verify(token).sentence.lower()
        with pytest.raises(service.NotIssuable):
            service.achievement_jwt(student, student, decision)
        status = _payload(service.status_list_jwt(scaled["mine"]["program"]))
    index = int(_payload(token)["credentialStatus"]["statusListIndex"])
    assert documents.bit_is_set(status["credentialSubject"]["encodedList"], index)
    raw = base64.urlsafe_b64decode(status["credentialSubject"]["encodedList"][1:] + "==")
    import gzip

    assert len(gzip.decompress(raw)) >= 16 * 1024  # the spec's minimum size


def test_a_clr_holding_a_withdrawn_decision_is_revoked(
    app, db, client, decision, scaled, tmp_path
):
    # The CLR has no status of its own: the credentials it holds carry theirs.
    student, preceptor = scaled["mine"]["student"], scaled["mine"]["preceptor"]
    with app.test_request_context():
        clr = service.clr_jwt(student, student)
        assert "credentialStatus" not in _payload(clr)
        assert _verify(clr).state == verify.VALID
        assessments.add_addendum(
            preceptor, decision, body="Withdrawn.", password=TEST_PASSWORD, withdraws=True
        )
        verdict = _verify(clr)
        assert verdict.state == verify.REVOKED
        assert "record holds" in verdict.sentence
        # A held credential whose status list cannot be had: unknown, never valid.
        assert service.verify_here(clr, status_source=lambda url: None).state == (
            verify.STATUS_UNKNOWN
        )
    db.session.commit()
    page = client.post("/credentials/verify", data={"token": clr}).get_data(as_text=True)
    assert "withdrawn an entrustment decision this record holds" in page
    (tmp_path / "clr.jwt").write_text(clr)
    (tmp_path / "jwks.json").write_text(
        client.get("/.well-known/jwks.json").get_data(as_text=True)
    )
    (tmp_path / "status.jwt").write_text(
        client.get(f"/credentials/status/{scaled['mine']['program'].id}").get_data(as_text=True)
    )
    result = app.test_cli_runner().invoke(
        args=[
            "verify-credential",
            str(tmp_path / "clr.jwt"),
            "--jwks",
            str(tmp_path / "jwks.json"),
            "--status-list",
            str(tmp_path / "status.jwt"),
        ]
    )
    assert result.exit_code == 1 and "record holds" in result.output


def test_wrong_key_and_garbage_are_refused(app, db, decision, scaled):
    student = scaled["mine"]["student"]
    with app.test_request_context():
        good = _payload(service.achievement_jwt(student, student, decision))
        stranger = Ed25519PrivateKey.generate()
        key = OKPKey.import_key(
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "d": signing_keys._b64(stranger.private_bytes_raw()),
                "x": signing_keys._b64(stranger.public_key().public_bytes_raw()),
            }
        )
        kid = signing_keys.thumbprint(stranger.public_key())
        header = {"alg": "EdDSA", "kid": kid}
        with pytest.warns(Warning):
            forged = jws.serialize_compact(
                header, json.dumps(good).encode(), key, algorithms=["EdDSA"]
            )
        assert _verify(forged).state == verify.WRONG_KEY
        # The same forgery naming our key id: the signature does not match our key.
        header["kid"] = signing_keys.ring().kid
        with pytest.warns(Warning):
            named = jws.serialize_compact(
                header, json.dumps(good).encode(), key, algorithms=["EdDSA"]
            )
        assert _verify(named).state == verify.TAMPERED
        assert _verify("not a credential").state == verify.UNREADABLE
        # Verified against a JWKS that lacks our key (another instance's): wrong key.
        other = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": key.as_dict()["x"], "kid": kid}]}
        token = service.achievement_jwt(student, student, decision)
        assert service.verify_here(token, other).state == verify.WRONG_KEY


def _signed_with(private: Ed25519PrivateKey, payload: dict) -> str:
    """``payload`` signed as vcjwt.sign would, but with ``private`` (a leaked or retired key)."""
    public = private.public_key()
    key = OKPKey.import_key(
        {
            "kty": "OKP",
            "crv": "Ed25519",
            "d": signing_keys._b64(private.private_bytes_raw()),
            "x": signing_keys._b64(public.public_bytes_raw()),
        }
    )
    header = {"alg": "EdDSA", "kid": vcjwt.key_url(signing_keys.thumbprint(public))}
    with pytest.warns(Warning):
        return jws.serialize_compact(header, json.dumps(payload).encode(), key, ["EdDSA"])


def test_a_well_signed_credential_never_issued_here_is_refused(
    app, db, client, decision, scaled, tmp_path
):
    # Signed with our own key (as a leaked key would sign): the signature alone is not enough.
    student = scaled["mine"]["student"]
    with app.test_request_context():
        payload = _payload(service.achievement_jwt(student, student, decision))
        stranger = "urn:uuid:00000000-0000-4000-8000-000000000000"
        forged = vcjwt.sign(dict(payload, id=stranger, jti=stranger))
        verdict = _verify(forged)
        assert verdict.state == verify.NOT_ISSUED and not verdict.ok
        assert _verify(vcjwt.sign(dict(payload, id="12", jti="12"))).state == verify.NOT_ISSUED
    db.session.commit()
    page = client.post("/credentials/verify", data={"token": forged}).get_data(as_text=True)
    assert "Not issued here: the issuer has no record of a credential with this id." in page
    (tmp_path / "forged.jwt").write_text(forged)
    result = app.test_cli_runner().invoke(args=["verify-credential", str(tmp_path / "forged.jwt")])
    assert result.exit_code == 1 and "Not issued here" in result.output


AS_ISSUED = {
    "achievement": lambda c: c["credentialSubject"]["achievement"].update(
        id=c["credentialSubject"]["achievement"]["id"] + "0"
    ),
    "issuer": lambda c: c.update(
        issuer={**c["issuer"], "id": c["issuer"]["id"] + "0"}, iss=c["issuer"]["id"] + "0"
    ),
    "status index": lambda c: c["credentialStatus"].update(statusListIndex="99"),
    "issue date": lambda c: c.update(validFrom="2020-01-01T00:00:00Z"),
}


@pytest.mark.parametrize("field", sorted(AS_ISSUED))
def test_a_well_signed_credential_that_differs_from_what_was_issued_is_refused(
    app, db, decision, scaled, field
):
    student = scaled["mine"]["student"]
    with app.test_request_context():
        payload = _payload(service.achievement_jwt(student, student, decision))
        AS_ISSUED[field](payload)
        assert _verify(vcjwt.sign(payload)).state == verify.NOT_AS_ISSUED


def test_a_credential_still_verifies_after_the_student_changes_their_email(
    app, db, decision, scaled
):
    """The identity hash is made from the address at download; the row says whose it is."""
    student = scaled["mine"]["student"]
    with app.test_request_context():
        token = service.achievement_jwt(student, student, decision)
        student.email = "renamed-after-download@example.org"
        db.session.flush()
        verdict = _verify(token)
        assert verdict.ok, verdict.state


def test_a_clr_must_hold_only_what_was_issued_under_its_own_id(app, db, decision, scaled):
    student = scaled["mine"]["student"]
    with app.test_request_context():
        clr = _payload(service.clr_jwt(student, student))
        held = clr["credentialSubject"]["verifiableCredential"]
        stranger = "urn:uuid:00000000-0000-4000-8000-000000000000"
        other_id = dict(clr, id=stranger, jti=stranger)
        assert _verify(vcjwt.sign(other_id)).state == verify.NOT_ISSUED
        smuggled = json.loads(json.dumps(clr))
        smuggled["credentialSubject"]["verifiableCredential"] = [*held, dict(held[0], id=stranger)]
        assert _verify(vcjwt.sign(smuggled)).state == verify.NOT_ISSUED
        changed = json.loads(json.dumps(clr))
        AS_ISSUED["achievement"](changed["credentialSubject"]["verifiableCredential"][0])
        assert _verify(vcjwt.sign(changed)).state == verify.NOT_AS_ISSUED
        assert _verify(vcjwt.sign(clr)).state == verify.VALID


def test_a_retired_key_cannot_sign_what_was_issued_after_its_retirement(
    app, db, decision, scaled, own_key_file
):
    student = scaled["mine"]["student"]
    with app.test_request_context():
        old = signing_keys.ring().private
        before = _payload(service.achievement_jwt(student, student, decision))
        signing_keys.rotate(own_key_file)
        # Retired two hours ago (the key file says when); the decision issued one hour ago.
        document = json.loads(own_key_file.read_text())
        hours_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
        document["retired"][0]["retired"] = hours_ago.isoformat()
        own_key_file.write_text(json.dumps(document))
        row = service.issued_record(before["id"][len("urn:uuid:") :])
        # Issued before the rotation, signed then with the old key: still valid.
        row.issued_at = hours_ago - timedelta(hours=1)
        db.session.flush()
        earlier = documents.jwt_claims(documents.achievement_credential(row))
        assert _verify(_signed_with(old, earlier)).state == verify.VALID
        row.issued_at = hours_ago + timedelta(hours=1)
        db.session.flush()
        after = documents.jwt_claims(documents.achievement_credential(row))
        verdict = _verify(_signed_with(old, after))
        assert verdict.state == verify.KEY_RETIRED
        assert "retired before this credential was issued" in verdict.sentence
        assert _verify(vcjwt.sign(after)).state == verify.VALID  # the current key may


def test_expired_and_not_yet_valid(app, db, decision, scaled):
    student = scaled["mine"]["student"]
    with app.test_request_context():
        payload = _payload(service.achievement_jwt(student, student, decision))
        expired = dict(payload, validUntil="2021-01-01T00:00:00Z")
        assert _verify(vcjwt.sign(expired)).state == verify.EXPIRED
        soon = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert _verify(vcjwt.sign(dict(payload, validFrom=soon))).state == verify.NOT_YET


def test_rotation_keeps_old_credentials_valid(app, db, decision, scaled, own_key_file):
    student = scaled["mine"]["student"]
    with app.test_request_context():
        token = service.achievement_jwt(student, student, decision)
        old_kid = signing_keys.ring().kid
        signing_keys.rotate(own_key_file)
        assert signing_keys.ring().kid != old_kid
        assert _verify(token).state == verify.VALID  # the retired key is still published
        assert vcjwt.peek(service.status_list_jwt(scaled["mine"]["program"]))[0]["kid"] != (
            old_kid
        )


@pytest.mark.parametrize("who", ["student", "director"])
def test_own_student_and_director_download(app, db, client, decision, scaled, who):
    login(client, scaled["mine"][who])
    student = scaled["mine"]["student"]
    response = client.get(f"/portfolios/{student.id}/credentials/{decision.id}.jwt")
    assert response.status_code == 200
    assert response.mimetype == "application/vc+jwt"
    assert service.verify_here(response.get_data(as_text=True)).ok
    assert client.get(f"/portfolios/{student.id}/credentials/clr.jwt").status_code == 200
    page = client.get(f"/portfolios/{student.id}")
    assert f"/portfolios/{student.id}/credentials/{decision.id}.jwt" in page.get_data(as_text=True)


@pytest.mark.parametrize("who", ["student", "director", "preceptor", "patient"])
def test_the_other_program_gets_404(app, db, client, decision, scaled, who):
    login(client, scaled["other"][who])
    student = scaled["mine"]["student"]
    assert client.get(f"/portfolios/{student.id}/credentials/{decision.id}.jwt").status_code == 404
    assert client.get(f"/portfolios/{student.id}/credentials/clr.jwt").status_code == 404


def test_own_preceptor_and_admin_get_404(app, db, client, decision, scaled):
    student = scaled["mine"]["student"]
    for user in (scaled["mine"]["preceptor"], scaled["admin"]):
        login(client, user)
        url = f"/portfolios/{student.id}/credentials/{decision.id}.jwt"
        assert client.get(url).status_code == 404
        client.post("/logout")


def test_a_cycle_of_another_student_through_ones_own_url_is_404(
    app, db, client, decision, scaled, make_cycle
):
    other = make_cycle(CycleStatus.SIGNED, self_level=4, preceptor_level=5, side="other")
    login(client, scaled["mine"]["student"])
    me = scaled["mine"]["student"]
    assert client.get(f"/portfolios/{me.id}/credentials/{other.id}.jwt").status_code == 404


def test_verify_page_and_command_share_the_service(app, db, client, decision, scaled, tmp_path):
    student = scaled["mine"]["student"]
    with app.test_request_context():
        token = service.achievement_jwt(student, student, decision)
    db.session.commit()
    page = client.get("/credentials/verify")
    assert page.status_code == 200
    answer = client.post("/credentials/verify", data={"token": token})
    assert answer.status_code == 200
    assert "Valid: signed with the issuer" in answer.get_data(as_text=True)
    payload = _payload(token)
    payload["credentialSubject"]["achievement"]["name"] = "Neurosurgery"
    changed = client.post("/credentials/verify", data={"token": _reencode(token, payload)})
    assert "Tampered" in changed.get_data(as_text=True)
    # The command, offline, from a JWKS file and a downloaded status list.
    (tmp_path / "c.jwt").write_text(token)
    (tmp_path / "jwks.json").write_text(
        client.get("/.well-known/jwks.json").get_data(as_text=True)
    )
    program = scaled["mine"]["program"]
    (tmp_path / "status.jwt").write_text(
        client.get(f"/credentials/status/{program.id}").get_data(as_text=True)
    )
    runner = app.test_cli_runner()
    args = ["verify-credential", str(tmp_path / "c.jwt"), "--jwks", str(tmp_path / "jwks.json")]
    result = runner.invoke(args=[*args, "--status-list", str(tmp_path / "status.jwt")])
    assert result.exit_code == 0, result.output
    assert "Valid" in result.output
    (tmp_path / "bad.jwt").write_text(_reencode(token, payload))
    result = runner.invoke(args=["verify-credential", str(tmp_path / "bad.jwt")])
    assert result.exit_code == 1 and "Tampered" in result.output
    # Without the status list (offline, none given): the bit cannot be read.
    (tmp_path / "empty.jwt").write_text("x.y.z")
    result = runner.invoke(args=[*args, "--status-list", str(tmp_path / "empty.jwt")])
    assert result.exit_code == 1 and "status list could not be checked" in result.output


def test_public_issuer_achievement_and_status_list(app, db, client, decision, scaled):
    program = scaled["mine"]["program"]
    student = scaled["mine"]["student"]
    with app.test_request_context():
        service.achievement_jwt(student, student, decision)
    db.session.commit()
    profile = client.get(f"/credentials/issuers/{program.id}").get_json()
    assert profile["type"] == ["Profile"] and profile["id"].endswith(
        f"/credentials/issuers/{program.id}"
    )
    url = f"/credentials/achievements/{program.id}/{decision.competency_id}"
    assert client.get(url).get_json()["type"] == ["Achievement"]
    assert client.get(f"/credentials/status/{program.id}").mimetype == "application/vc+jwt"
    # It stops issuing: what it issued still verifies (profile and status list stay up).
    program.entrustment_value = None
    db.session.commit()
    assert client.get(f"/credentials/issuers/{program.id}").status_code == 200
    assert client.get(f"/credentials/status/{program.id}").status_code == 200
    # A program that never issued any has neither.
    other = scaled["other"]["program"]
    other.entrustment_value = None
    db.session.commit()
    assert client.get(f"/credentials/issuers/{other.id}").status_code == 404
    assert client.get(f"/credentials/status/{other.id}").status_code == 404


def test_the_api_lists_the_portfolio_documents_and_credentials(app, db, client, decision, scaled):
    from clerkship.api import tokens

    part = scaled["mine"]
    _token, secret = tokens.create_token(part["director"], part["program"], "LMS", 30)
    db.session.commit()
    auth = {"Authorization": f"Bearer {secret}"}
    student = part["student"]
    body = client.get(f"/api/v1/students/{student.id}/portfolio", headers=auth).get_json()
    assert body["student_id"] == student.id
    assert [c["assessment_id"] for c in body["credentials"]] == [decision.id]
    assert body["credentials"][0]["download_url"].endswith(
        f"/portfolios/{student.id}/credentials/{decision.id}.jwt"
    )
    assert body["learner_record_url"].endswith(f"/portfolios/{student.id}/credentials/clr.jwt")
    assert body["documents"] == []  # no PDF issued yet
    other = scaled["other"]["student"]
    assert client.get(f"/api/v1/students/{other.id}/portfolio", headers=auth).status_code == 404
    # Withdrawn: still listed (the portfolio shows it), without a download.
    from clerkship.assessments import service as assessments

    with app.test_request_context():
        assessments.add_addendum(
            part["preceptor"], decision, body="Withdrawn", password=TEST_PASSWORD, withdraws=True
        )
    db.session.commit()
    body = client.get(f"/api/v1/students/{student.id}/portfolio", headers=auth).get_json()
    assert body["credentials"][0]["withdrawn"] is True
    assert body["credentials"][0]["download_url"] is None
    assert body["learner_record_url"] is None


def test_un_revoking_in_the_database_is_caught_by_the_integrity_check(app, db, decision, scaled):
    from clerkship.integrity import service as integrity

    student, preceptor = scaled["mine"]["student"], scaled["mine"]["preceptor"]
    with app.test_request_context():
        token = service.achievement_jwt(student, student, decision)
        assessments.add_addendum(
            preceptor, decision, body="Withdrawn.", password=TEST_PASSWORD, withdraws=True
        )
        row = db.session.scalar(select(IssuedCredential))
        assert row.withdrawal_signature.meaning == "withdrew_decision"
        assert integrity.full_check().ok
        row.withdrawn_at = None  # someone with database access quietly un-revokes it
        db.session.flush()
        assert _verify(token).state == verify.VALID  # the list follows the database...
        check = integrity.full_check()  # ...and the signed withdrawal says it was changed
    assert not check.ok
    assert any("record changed after signing" in problem for problem in check.problems)


def test_the_evidence_link_says_what_was_issued_and_whether_revoked(
    app, db, client, decision, scaled
):
    student, preceptor = scaled["mine"]["student"], scaled["mine"]["preceptor"]
    with app.test_request_context():
        evidence = _payload(service.achievement_jwt(student, student, decision))["evidence"][0]
    db.session.commit()
    path = evidence["id"].split("://", 1)[1].split("/", 1)[1]
    page = client.get(f"/{path}").get_data(as_text=True)
    assert decision.competency.title in page and "Not revoked" in page
    assert student.name not in page  # the link is public: it names no one
    with app.test_request_context():
        assessments.add_addendum(
            preceptor, decision, body="Withdrawn.", password=TEST_PASSWORD, withdraws=True
        )
    db.session.commit()
    assert "Revoked on" in client.get(f"/{path}").get_data(as_text=True)
    assert client.get("/credentials/verify?id=nope").status_code == 404


def test_verify_page_takes_a_file_and_says_what_is_missing(app, db, client, decision, scaled):
    import io

    student = scaled["mine"]["student"]
    with app.test_request_context():
        token = service.achievement_jwt(student, student, decision)
    db.session.commit()
    empty = client.post("/credentials/verify", data={"token": "  "})
    assert empty.status_code == 400
    assert "Paste the credential or choose its file." in empty.get_data(as_text=True)
    upload = client.post(
        "/credentials/verify",
        data={"file": (io.BytesIO(token.encode()), "badge.jwt")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 200 and "unchanged, and not revoked" in upload.get_data(
        as_text=True
    )
    typed = "my notes " * 10
    too_big = client.post(
        "/credentials/verify",
        data={"token": typed, "file": (io.BytesIO(b"x" * (450 * 1024)), "big.jwt")},
        content_type="multipart/form-data",
    )
    assert too_big.status_code == 400
    assert "too large to be a credential" in too_big.get_data(as_text=True)
    assert typed.strip() in too_big.get_data(as_text=True)  # what was typed stays


def test_verdicts_in_spanish_agree_with_la_credencial(app):
    # "Revoked" on the invitation page is masculine (el enlace); a verdict is about the
    # credential (la credencial): its own message context.
    from flask_babel import force_locale
    from flask_babel import gettext as plain

    with app.test_request_context(), force_locale("es"):
        assert verify.Verdict(verify.REVOKED).label == "Revocada"
        assert plain("Revoked") == "Revocado"
        assert verify.Verdict(verify.NOT_ISSUED).label == "No emitida aquí"
        assert verify.Verdict(verify.NOT_AS_ISSUED).sentence.startswith("Distinta de la emitida:")
        assert verify.Verdict(verify.KEY_RETIRED).label == "Clave retirada"
