"""Workflow 4's set-up in a real browser: import a roster with bad rows, fix and re-import,
pair a student, filter the dashboard to those needing attention, open one."""

from pathlib import Path

import pytest

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

DOMAIN = "riverbend.example.org"
FILES = Path(__file__).parent / "files"


def test_director_imports_pairs_and_finds_who_needs_help(new_page, live_server):
    page = new_page()
    sign_in(page, live_server, f"director@{DOMAIN}")
    page.locator("section[aria-labelledby='programs-h'] a[href^='/cohorts/']").first.click()
    cohort_url = page.url

    # A file with a bad row: the preview says which and why, and nothing can be confirmed.
    page.click("a:has-text('Import a roster')")
    page.check("input[name='kind'][value='students']")
    page.set_input_files("#file", str(FILES / "students_with_bad_row.csv"))
    page.click("button:has-text('Preview')")
    assert page.locator("tr.row-error", has_text="is not an e-mail address").count() == 1
    assert page.locator("button:has-text('Confirm import')").count() == 0
    screenshot(page, "roster-preview-errors")

    # Fixed and uploaded again: confirm writes both students.
    page.click("a:has-text('Import')")
    page.set_input_files("#file", str(FILES / "students_fixed.csv"))
    page.click("button:has-text('Preview')")
    assert page.locator("tr.row-new").count() == 2
    page.click("button:has-text('Confirm import')")
    assert page.locator(".flash", has_text="2 new").count() == 1

    # Pair one of them with a preceptor.
    page.click("a:has-text('New One')")
    page.click("a:has-text('Pair with a preceptor')")
    page.select_option("#preceptor", index=1)
    page.select_option("#discipline", "Family medicine")
    page.fill("#start_date", "2026-07-01")
    page.click("button:has-text('Pair')")
    assert page.locator(".flash", has_text="Paired").count() == 1
    assert page.locator("li", has_text="Family medicine").count() >= 1

    # The dashboard, filtered to those needing attention, lists the newcomer and why.
    page.goto(cohort_url)
    page.click("a:has-text('Who needs help')")
    page.click("a:has-text('Only those needing attention')")
    row = page.locator("tr.flagged", has_text="New One")
    assert row.count() == 1
    assert "no agreed learning goal" in row.inner_text()
    screenshot(page, "dashboard-attention")
    row.locator("a").first.click()
    assert page.locator("h1", has_text="Competency portfolio").count() == 1
