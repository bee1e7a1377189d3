"""Sign in through the school's SAML IdP (pysaml2's server on loopback), co-sign an assessment
after a ForceAuthn sign-in, and sign out of both, in Chromium.

The IdP is addressed as ``localhost`` and the app as ``127.0.0.1``: two sites, so the IdP's
POST to our ACS is cross-site and arrives without our SameSite=Lax session cookie, as it does
with a real school's IdP. The relay page must carry the sign-in through."""

from __future__ import annotations

import flask_migrate
import pytest
from sqlalchemy import select

from clerkship import create_app, demo
from clerkship.extensions import db
from clerkship.models import AssessmentCycle, CycleStatus, SignInSession
from tests.browser.conftest import axe_problems, screenshot
from tests.browser.test_every_role_axe import FITS
from tests.conftest import serving, test_config
from tests.databases import fresh_database
from tests.sso import saml_idp

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def saml_server():
    running = saml_idp.Running(host="localhost")
    with fresh_database("browser_saml") as url:
        app = create_app(
            test_config(url, WTF_CSRF_ENABLED=True, SAML_IDP_METADATA=str(running.metadata_file))
        )
        try:
            # Served from the start: our metadata names the ACS and SLO by this address.
            with serving(app) as base:
                app.config["BASE_URL"] = base
                with app.app_context():
                    flask_migrate.upgrade()
                    demo.build_demo_year(students=2)
                    db.session.commit()
                    cycle = db.session.scalars(
                        select(AssessmentCycle).where(
                            AssessmentCycle.status == CycleStatus.AWAITING_SIGNATURE
                        )
                    ).first()
                    preceptor = cycle.preceptor
                    running.idp.person = {
                        "uid": ["p1"],
                        "mail": [preceptor.email],
                        "displayName": [preceptor.name],
                    }
                    ids = {"cycle": cycle.id, "preceptor": preceptor.id}
                running.idp.trust(
                    app.test_client().get("/sso/saml/metadata").get_data(as_text=True)
                )
                yield base, ids, running.idp, app
        finally:
            running.stop()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def test_sign_in_with_saml_cosign_and_sign_out_of_both(browser, saml_server):
    base, ids, idp, app = saml_server
    idp.reset()
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{base}/sign-in")
        page.click("a:has-text('Sign in with your school account')")
        page.wait_for_url(f"{base}/")
        assert page.locator(".flash", has_text="Welcome").count() == 1
        assert idp.force_authn_seen == [False]

        sign_url = f"{base}/assessments/{ids['cycle']}/sign"
        page.goto(sign_url)
        assert page.locator("#password").count() == 0
        idp.logged_in_at -= 600  # the IdP's session is old: ForceAuthn must renew it
        page.click("a:has-text('Confirm with your school account')")
        page.wait_for_url(sign_url)
        assert idp.force_authn_seen[-1] is True
        page.check("text=Co-signed as supervising preceptor")
        screenshot(page, "saml-cosign-390")
        page.get_by_role("button", name="Sign", exact=True).click()
        assert page.locator(".tag.ok", has_text="Signature valid").count() == 1
        assert page.locator("dd", has_text="signing in with their school account again").count()
        screenshot(page, "saml-cosigned-390")

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{base}/sign-in")
        assert page.locator(".flash", has_text="signed out of your school account").count() == 1
        assert len(idp.logout_requests) == 1
        with app.app_context():
            rows = db.session.scalars(
                select(SignInSession).where(SignInSession.user_id == ids["preceptor"])
            ).all()
            assert rows and all(row.ended_at is not None for row in rows)
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_sign_in_choice_and_refusal_pages(browser, saml_server, width):
    base, _ids, idp, _app = saml_server
    idp.reset()
    known = idp.person
    idp.person = {"uid": ["x"], "mail": ["nobody@school.example.edu"], "displayName": ["N"]}
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{base}/sign-in")
        screenshot(page, f"saml-sign-in-{width}")
        page.click("a:has-text('Sign in with your school account')")
        page.wait_for_selector("h1:has-text('You could not be signed in')")
        assert page.locator("text=not linked to anyone in Clerkship").count() == 1
        screenshot(page, f"saml-refused-{width}")
        # The refusal pages are part of the axe walk (test_every_role_axe), checked here
        # because only this server has an IdP: not linked, and a message that fails checks.
        assert axe_problems(page) == []
        assert page.evaluate(FITS)
        untrusted = page.goto(f"{base}/sso/saml/slo?SAMLRequest=x")
        assert untrusted is not None and untrusted.status == 400
        assert page.locator("text=could not be checked, so it was not accepted").count() == 1
        assert axe_problems(page) == []
        assert page.evaluate(FITS)
        screenshot(page, f"saml-untrusted-{width}")
    finally:
        idp.person = known
        context.close()
