"""Every demo role signs in through the real form in Chromium and lands on its home page."""

import pytest

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

DOMAIN = "riverbend.example.org"


@pytest.mark.parametrize(
    ("email", "heading"),
    [
        (f"director@{DOMAIN}", "Your programs"),
        (f"admin@{DOMAIN}", "People"),
        (f"student01@{DOMAIN}", "Your preceptors"),
        (f"preceptor01@{DOMAIN}", "Your students"),
        (f"patient@{DOMAIN}", "Your students"),
    ],
)
def test_each_role_signs_in_and_out(new_page, live_server, email, heading):
    page = new_page()
    sign_in(page, live_server, email)
    page.wait_for_url(f"{live_server}/")
    assert page.locator("h2", has_text=heading).count() == 1
    assert page.locator("h2", has_text="Waiting for you").count() == 1
    screenshot(page, f"home-{email.split('@')[0]}")

    page.click("button:has-text('Sign out')")
    page.wait_for_url(f"{live_server}/sign-in")
    assert page.locator(".flash", has_text="You have signed out.").count() == 1
    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/sign-in")


def test_wrong_password_shows_the_error_beside_the_field(new_page, live_server):
    page = new_page()
    sign_in(page, live_server, f"student01@{DOMAIN}", password="not the password")
    error = page.locator("#password-error")
    assert error.inner_text() == "That email and password do not match an active account."
    assert page.input_value("#email") == f"student01@{DOMAIN}"
    assert page.get_attribute("#password", "aria-invalid") == "true"


@pytest.mark.parametrize("path", ["/sign-in", "/"])
def test_pages_fit_a_phone(new_page, live_server, path):
    page = new_page(width=390, height=844)
    if path != "/sign-in":
        sign_in(page, live_server, f"student01@{DOMAIN}")
        page.wait_for_url(f"{live_server}/")
    page.goto(live_server + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, f"phone{path.replace('/', '-') or '-home'}")
