"""Workflow 2 of DESIGN.md in a real browser: informed self-assessment and co-signature."""

import re

import pytest
from playwright.sync_api import expect

from clerkship import demo
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

DOMAIN = "riverbend.example.org"
COMPETENCY = "Provide an oral presentation of a clinical encounter"  # EPA 6


def test_self_assessment_rating_gap_plan_goal_and_cosignature(new_page, live_server):
    student, preceptor = new_page(), new_page(width=390, height=844)
    sign_in(student, live_server, f"student01@{DOMAIN}")
    sign_in(preceptor, live_server, f"preceptor01@{DOMAIN}")
    preceptor_name = preceptor.locator(".who").inner_text().split("\n")[0].strip()
    preceptor_name = preceptor_name.split(" Preceptor")[0]

    # The student starts a self-assessment with their preceptor.
    student.goto(f"{live_server}/assessments/new")
    student.select_option("#person", label=preceptor_name)
    # The competency picker is the program's framework tree, radio buttons (issue 17).
    student.check(f"#competency-picker li[data-label*='{COMPETENCY}'] > label input")
    student.fill("#encounter", "Morning clinic presentations, week 20")
    student.click("button:has-text('Start')")
    cycle_url = student.url
    assert re.search(r"/assessments/\d+$", cycle_url)

    # Self-assessment: a labelled level, the evidence, what it means.
    student.click("a:has-text('Write my self-assessment')")
    student.check("text=Act without supervision (practice ready)")
    student.fill("#evidence", "Presented six new patients; my preceptor stopped me less often.")
    student.fill("#interpretation", "I think I am ready to present alone.")
    student.click("button:has-text('Submit my self-assessment')")
    expect(student.locator(".flash", has_text="Self-assessment submitted")).to_have_count(1)

    # The preceptor finds it on their home page and rates — without seeing the self-rating.
    preceptor.goto(f"{live_server}/")
    preceptor.locator(f"a[href='{cycle_url.replace(live_server, '')}']").first.click()
    assert "ready to present alone" not in preceptor.content()
    preceptor.click("a:has-text('Rate this student')")
    preceptor.fill("#went_well", "Clear structure and a good one-line summary.")
    preceptor.fill("#work_on", "Commit to an assessment before giving the plan.")
    preceptor.check("text=Act with indirect supervision")
    preceptor.click("button:has-text('Submit my rating')")

    # Both see both ratings side by side, with the gap named.
    expect(preceptor.locator(".gap", has_text="rated themself one level above")).to_have_count(1)
    student.goto(cycle_url)
    expect(student.locator(".gap", has_text="You rated yourself one level above")).to_have_count(1)
    assert student.locator(".level.preceptor", has_text="Act with indirect supervision").count()

    # The student reacts, plans, and turns the plan into a goal in the same step.
    student.click("a:has-text('Write my reaction and plan')")
    student.fill("#reaction", "Fair: I skip my own assessment when I am nervous.")
    student.fill("#plan", "State my assessment before the plan at every presentation.")
    student.check("#make_goal")
    student.fill("#goal_title", "Say my assessment before my plan")
    student.click("button:has-text('for signature')")
    expect(student.locator(".flash", has_text="draft learning goal")).to_have_count(1)
    student.click("a:has-text('Say my assessment before my plan')")
    expect(student.locator("h1", has_text="Say my assessment before my plan")).to_have_count(1)

    # The preceptor co-signs, re-entering their password (a wrong one first).
    preceptor.goto(cycle_url)
    preceptor.click("a:has-text('Review and sign')")
    preceptor.check("text=Co-signed as supervising preceptor")
    preceptor.fill("#password", "not my password")
    preceptor.get_by_role("button", name="Sign", exact=True).click()
    expect(preceptor.locator(".error", has_text="password is not right")).to_have_count(1)
    preceptor.check("text=Co-signed as supervising preceptor")
    preceptor.fill("#password", demo.DEMO_PASSWORD)
    preceptor.get_by_role("button", name="Sign", exact=True).click()
    expect(preceptor.locator(".tag.ok", has_text="Signature valid")).to_have_count(1)
    screenshot(preceptor, "assessment-signed-phone")

    student.goto(cycle_url)
    expect(student.locator(".status", has_text="signed")).to_have_count(1)
    assert student.locator("dd", has_text=preceptor_name).count() >= 1
    screenshot(student, "assessment-signed")

    # The calibration view draws the new pair, with a table beside the chart.
    student.click("a:has-text('calibration over time')")
    section = student.locator("section.calibration", has_text=COMPETENCY)
    expect(section.locator("svg.chart")).to_have_count(1)
    assert section.locator("td", has_text="Act without supervision (practice ready)").count()
    screenshot(student, "calibration")
