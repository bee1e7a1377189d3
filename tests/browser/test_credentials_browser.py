"""Credentials in a real browser: the student finds the download links on the portfolio,
downloads a badge, and the public verify page says it is valid (and that a changed one is
not); screenshots at 1280 and 390 px."""

import base64
import json

import pytest
from sqlalchemy import select

from clerkship import create_app
from clerkship.credentials import decisions, vcjwt
from clerkship.extensions import db
from clerkship.models import Role, User
from tests.browser.conftest import LIVE, screenshot, sign_in
from tests.conftest import test_config

pytestmark = pytest.mark.browser


def _student_with_a_decision() -> tuple[str, int]:
    app = create_app(test_config(LIVE["database_url"]))
    with app.app_context():
        try:
            for student in db.session.scalars(select(User).where(User.role == Role.STUDENT)):
                if any(not gone for _cycle, gone in decisions.decisions_of(student)):
                    return student.email or "", student.id
        finally:
            db.session.remove()
            db.engine.dispose()
    raise AssertionError("the demo year has no entrustment decision")


@pytest.mark.parametrize("width", [1280, 390])
def test_student_downloads_a_badge_and_verifies_it(new_page, live_server, width, tmp_path):
    email, student_id = _student_with_a_decision()
    page = new_page(width=width)
    sign_in(page, live_server, email)
    page.goto(f"{live_server}/portfolios/{student_id}")
    section = page.locator("section.credentials")
    assert section.locator("h2", has_text="Credentials").count() == 1
    assert section.locator("a:has-text('Download the learner record')").count() == 1
    section.scroll_into_view_if_needed()
    screenshot(page, f"portfolio-credentials-{width}")
    with page.expect_download() as download_info:
        section.locator("a:has-text('Download badge (')").first.click()
    token = download_info.value.path().read_text()
    assert token.count(".") == 2
    page.goto(f"{live_server}/credentials/verify")
    page.fill("textarea[name='token']", token)
    page.click("button:has-text('Verify')")
    assert page.locator(".tag.ok", has_text="Valid").count() == 1
    assert page.locator("p", has_text="unchanged, and not revoked").count() == 1
    screenshot(page, f"credential-verify-valid-{width}")
    head, _body, signature = token.split(".")
    claims = vcjwt.peek(token)[1]
    claims["credentialSubject"]["achievement"]["name"] = "Could supervise others"
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    page.fill("textarea[name='token']", f"{head}.{body}.{signature}")
    page.click("button:has-text('Verify')")
    assert page.locator(".tag.danger", has_text="Tampered").count() == 1
    screenshot(page, f"credential-verify-refused-{width}")


def test_director_sees_the_marked_level_on_the_program_settings(new_page, live_server):
    page = new_page()
    sign_in(page, live_server, "director@riverbend.example.org")
    page.locator("section[aria-labelledby='programs-h'] a[href^='/programs/']").first.click()
    page.goto(page.url.rstrip("/") + "/edit")
    chosen = page.locator("select[name='entrustment_value'] option:checked")
    assert chosen.inner_text() == "Act with indirect supervision"
    page.locator("select[name='entrustment_value']").scroll_into_view_if_needed()
    screenshot(page, "program-settings-entrustment")
