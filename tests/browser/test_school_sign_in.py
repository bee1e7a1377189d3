"""Sign in through the school's OpenID provider (the Authlib test provider on loopback) and
co-sign an assessment after the fresh school sign-in, in Chromium."""

from __future__ import annotations

import flask_migrate
import pytest
from sqlalchemy import select

from clerkship import create_app, demo
from clerkship.extensions import db
from clerkship.models import AssessmentCycle, CycleStatus
from tests.browser.conftest import screenshot
from tests.conftest import serving, test_config
from tests.databases import fresh_database
from tests.sso import provider as op

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def school_server():
    running = op.Running()
    with fresh_database("browser_sso") as url:
        app = create_app(
            test_config(
                url,
                WTF_CSRF_ENABLED=True,
                OIDC_ISSUER=running.provider.issuer,
                OIDC_CLIENT_ID=op.CLIENT_ID,
                OIDC_CLIENT_SECRET=op.CLIENT_SECRET,
            )
        )
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
            person = {
                "sub": "s-1",
                "email": preceptor.email,
                "email_verified": True,
                "name": preceptor.name,
            }
            ids = {"cycle": cycle.id}
        running.provider.person = person
        try:
            with serving(app) as base:
                yield base, ids, running.provider
        finally:
            running.stop()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def test_sign_in_with_the_school_and_cosign(browser, school_server):
    base, ids, provider = school_server
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(f"{base}/sign-in")
        screenshot(page, "school-sign-in-phone")
        page.click("a:has-text('Sign in with your school account')")
        page.wait_for_url(f"{base}/")
        assert page.locator(".flash", has_text="Welcome").count() == 1

        page.goto(f"{base}/assessments/{ids['cycle']}/sign")
        assert page.locator("#password").count() == 0
        page.click("a:has-text('Confirm with your school account')")
        page.wait_for_url(f"{base}/assessments/{ids['cycle']}/sign")
        assert provider.prompts[-1] == ("login", "0")
        page.check("text=Co-signed as supervising preceptor")
        screenshot(page, "school-cosign-phone")
        page.get_by_role("button", name="Sign", exact=True).click()
        assert page.locator(".tag.ok", has_text="Signature valid").count() == 1
        assert page.locator("dd", has_text="signing in with their school account again").count()
        screenshot(page, "school-cosigned-phone")
    finally:
        context.close()
