"""On a phone on the wards (390 px): messages where the user lands, charts whose text can be
read, an app that installs to the home screen, and a half-typed note that survives a dropped
connection."""

from __future__ import annotations

import re

from tests.browser.conftest import screenshot, sign_in

PHONE = 390
NOTE = "Asked Mrs. R. to explain her new inhaler back to me"


def _in_viewport(page, selector: str) -> bool:
    return page.eval_on_selector(
        selector,
        """el => { const r = el.getBoundingClientRect();
                   return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }""",
    )


def _a_goal_of_the_student(page, base: str) -> str:
    page.goto(f"{base}/goals/")
    href = page.eval_on_selector("main a[href^='/goals/']:not([href$='/new'])", "a => a.href")
    return href.split("#")[0]


def test_the_confirmation_is_where_the_user_lands(new_page, live_server):
    page = new_page(width=PHONE, height=800)
    sign_in(page, live_server, "student01@riverbend.example.org")
    page.goto(_a_goal_of_the_student(page, live_server))
    page.check("input[value='comment']")
    page.fill("#body", "A comment to see where the confirmation lands")
    page.click("form[action*='/notes'] button[type=submit]")
    page.wait_for_url(re.compile(r"#thread$"))
    assert page.locator(".flash").count() == 1
    assert _in_viewport(page, ".flash"), "the confirmation is off-screen"
    screenshot(page, "16c-phone-confirmation")


def test_chart_text_is_readable_and_no_line_crosses_a_level(new_page, live_server):
    page = new_page(width=PHONE, height=800)
    sign_in(page, live_server, "director@riverbend.example.org")
    page.goto(_calibration_link(page, live_server))
    assert page.locator("svg.chart").count() >= 1
    sizes = page.eval_on_selector_all(
        "svg.chart text",
        """texts => texts.map(t => parseFloat(getComputedStyle(t).fontSize)
                                   * t.ownerSVGElement.getScreenCTM().a)""",
    )
    assert sizes and min(sizes) >= 12, f"smallest chart text {min(sizes):.1f} px"
    crossing = page.eval_on_selector_all(
        "svg.chart",
        """charts => charts.flatMap(svg => {
             const labels = [...svg.querySelectorAll('.level-label')]
               .map(t => t.getBoundingClientRect());
             const drawn = [...svg.querySelectorAll('.line, .marker, .grid')]
               .map(e => e.getBoundingClientRect());
             return labels.filter(l => drawn.some(d =>
               d.left < l.right - 0.5 && d.right > l.left + 0.5 &&
               d.top < l.bottom && d.bottom > l.top));
           }).length""",
    )
    assert crossing == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    screenshot(page, "16c-phone-chart")


def _calibration_link(page, base: str) -> str:
    page.goto(f"{base}/")
    if not page.locator("a[href^='/students/']").count():
        page.goto(page.eval_on_selector("a[href^='/cohorts/']", "a => a.href"))
    page.goto(page.eval_on_selector("a[href^='/students/']", "a => a.href"))
    return page.eval_on_selector("a[href*='/assessments/calibration/']", "a => a.href")


def test_installable_to_the_home_screen(new_page, live_server):
    page = new_page(width=PHONE, height=800)
    page.goto(f"{live_server}/sign-in")
    href = page.get_attribute("link[rel=manifest]", "href")
    manifest = page.request.get(f"{live_server}{href}")
    assert manifest.ok and "manifest+json" in manifest.headers["content-type"]
    icons = manifest.json()["icons"]
    assert {i["sizes"] for i in icons} >= {"192x192", "512x512"}
    for icon in icons:
        assert page.request.get(f"{live_server}{icon['src']}").headers["content-type"] == (
            "image/png"
        )
    session = page.context.new_cdp_session(page)
    manifest_seen = session.send("Page.getAppManifest")
    assert not manifest_seen.get("errors"), manifest_seen.get("errors")
    # Chromium's own install check; Playwright's contexts are incognito, which it names too.
    report = session.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert {e["errorId"] for e in report} - {"in-incognito"} == set(), report


def test_a_half_typed_note_survives_a_dropped_connection(new_page, live_server):
    page = new_page(width=PHONE, height=800)
    sign_in(page, live_server, "student01@riverbend.example.org")
    goal = _a_goal_of_the_student(page, live_server)
    page.goto(goal)
    page.check("input[value='progress_note']")
    page.type("#body", NOTE, delay=5)
    page.wait_for_timeout(400)  # the copy is written 300 ms after the last key
    page.context.set_offline(True)
    try:
        page.click("form[action*='/notes'] button[type=submit]")
        page.wait_for_timeout(300)
    finally:
        page.context.set_offline(False)
    page.goto(goal)
    assert page.input_value("#body") == NOTE
    assert page.locator(".draft-restored").count() == 1
    page.check("input[value='progress_note']")
    page.click("form[action*='/notes'] button[type=submit]")
    page.wait_for_url(re.compile(r"#thread$"))
    page.goto(goal)
    assert page.input_value("#body") == ""  # sent: the copy is gone
    stored = page.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('clerkship-draft:'))"
    )
    assert stored == []
