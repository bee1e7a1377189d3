"""Every demo role signs in through the real form in Chromium and lands on its home page."""

import pytest

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

DOMAIN = "riverbend.example.org"


@pytest.mark.parametrize(
    ("email", "heading", "waiting"),
    [
        # The director's home triages students (issue 16); the others list what waits for them.
        (f"director@{DOMAIN}", "Your programs", "Students who need attention"),
        (f"admin@{DOMAIN}", "People", "Waiting for you"),
        (f"student01@{DOMAIN}", "Your preceptors", "Waiting for you"),
        (f"preceptor01@{DOMAIN}", "Your students", "Waiting for you"),
        (f"patient@{DOMAIN}", "Your students", "Waiting for you"),
    ],
)
def test_each_role_signs_in_and_out(new_page, live_server, email, heading, waiting):
    page = new_page()
    sign_in(page, live_server, email)
    page.wait_for_url(f"{live_server}/")
    assert page.locator("h2", has_text=heading).count() == 1
    assert page.locator("h2", has_text=waiting).count() == 1
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


def test_ended_session_is_noticed_while_typing_and_sign_in_returns_to_the_form(
    new_page, live_server
):
    email = f"student02@{DOMAIN}"  # the demo here has two students
    phone = new_page(width=390, height=844)
    sign_in(phone, live_server, email)
    phone.wait_for_url(f"{live_server}/")
    phone.goto(f"{live_server}/reflections/new")

    # Elsewhere, the same student signs out every other device (the phone included).
    laptop = new_page()
    sign_in(laptop, live_server, email)
    laptop.wait_for_url(f"{live_server}/")
    laptop.goto(f"{live_server}/account/sessions")
    laptop.click("button:has-text('Sign out everywhere else')")
    laptop.wait_for_load_state()

    phone.fill("#title", "A long evening visit")
    notice = phone.locator(".signed-out[role=alert]")
    notice.wait_for()
    assert "Copy what you have typed" in notice.inner_text()
    assert phone.input_value("#title") == "A long evening visit"  # still on the page
    screenshot(phone, "signed-out-while-typing")

    # Sending the form anyway leads to sign-in, and from there back to the form, not to a
    # page that only takes POST.
    phone.locator("main button.primary").click()
    phone.wait_for_url(f"{live_server}/sign-in**")
    phone.fill("#email", email)
    phone.fill("#password", "clerkship-demo-2026")
    phone.click("button:has-text('Sign in')")
    phone.wait_for_url(f"{live_server}/reflections/new")
