"""Hostile query strings on the school sign-in routes (Hypothesis, bounded and derandomized):
never a 5xx, never a redirect to another site, never a page that echoes the payload, and
nobody signed in. (tests/test_fuzz_forms.py fuzzes POST forms; these routes are GET only.)"""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import fuzzing

FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
VALUES = st.one_of(fuzzing.HOSTILE, fuzzing.HTML, st.just("//evil.example/"), st.none())


def _query(**values):
    return {key: value for key, value in values.items() if value is not None}


def _check(response, openid):
    assert response.status_code < 500
    if response.status_code in (301, 302, 303, 307, 308):
        target = urlsplit(response.location)
        assert not target.netloc or response.location.startswith(openid.issuer), response.location
    body = response.get_data(as_text=True)
    assert not fuzzing.REFLECTED.search(body)


@FUZZ
@given(code=VALUES, state=VALUES, error=VALUES, description=VALUES)
def test_callback(client, openid, code, state, error, description):
    query = _query(code=code, state=state, error=error, error_description=description)
    response = client.get("/sign-in/school/callback", query_string=query)
    _check(response, openid)
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # still signed out


@FUZZ
@given(next_url=VALUES)
def test_start_keeps_next_on_this_site(client, openid, next_url):
    _check(client.get("/sign-in/school", query_string=_query(next=next_url)), openid)


# ---- SAML ----------------------------------------------------------------------------------

SAML_VALUES = st.one_of(
    VALUES, st.binary(max_size=64).map(lambda b: __import__("base64").b64encode(b).decode())
)


def _check_saml(response, idp):
    assert response.status_code < 500
    if response.status_code in (301, 302, 303, 307, 308):
        target = urlsplit(response.location)
        assert not target.netloc or response.location.startswith(idp.base), response.location
    assert not fuzzing.REFLECTED.search(response.get_data(as_text=True))


@FUZZ
@given(saml_response=SAML_VALUES, relay_state=SAML_VALUES, relayed=st.sampled_from(["1", None]))
def test_saml_acs(client, saml_idp_on, saml_response, relay_state, relayed):
    """The ACS is CSRF-exempt (the IdP's page posts to it): whatever is posted, nobody is
    signed in, and a relayed post without a request of this browser is refused."""
    client.get("/sign-in/school/saml")  # a real pending request in this browser's session
    data = _query(SAMLResponse=saml_response, RelayState=relay_state, relayed=relayed)
    response = client.post("/sso/saml/acs", data=data)
    _check_saml(response, saml_idp_on)
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # still signed out


@FUZZ
@given(
    kind=st.sampled_from(["SAMLRequest", "SAMLResponse"]),
    message=SAML_VALUES,
    sig_alg=SAML_VALUES,
    signature=SAML_VALUES,
    relay_state=SAML_VALUES,
)
def test_saml_slo(client, saml_idp_on, kind, message, sig_alg, signature, relay_state):
    query = _query(**{kind: message}, SigAlg=sig_alg, Signature=signature, RelayState=relay_state)
    response = client.get("/sso/saml/slo", query_string=query)
    _check_saml(response, saml_idp_on)
    assert response.status_code in (400, 404)


@FUZZ
@given(next_url=VALUES)
def test_saml_start_keeps_next_on_this_site(client, saml_idp_on, next_url):
    _check_saml(
        client.get("/sign-in/school/saml", query_string=_query(next=next_url)), saml_idp_on
    )
