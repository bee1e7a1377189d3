"""Issue 17 in a real browser: an administrator uploads a framework, sees the preview and
confirms; a director limits the program to it; a student's goal picker shows only its tree,
and the search narrows it as one types — and, without JavaScript, through its button."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_problems, screenshot, sign_in

pytestmark = pytest.mark.browser

DOMAIN = "riverbend.example.org"
FRAMEWORK = Path(__file__).parents[1] / "frameworks" / "files" / "ctdl-v1.jsonld"
NAME = "Example clerkship milestones"


def _limit_program(page, base: str, names: set[str]) -> set[str]:
    """The director ticks exactly ``names`` on the program's form; returns what was ticked."""
    sign_in(page, base, f"director@{DOMAIN}")
    page.locator("section[aria-labelledby='programs-h'] h3 a").first.click()
    page.click("a:has-text('Edit')")
    boxes = page.locator("#framework_ids input[type='checkbox']")
    before = set()
    for i in range(boxes.count()):
        box = boxes.nth(i)
        label = page.locator(f"label[for='{box.get_attribute('id')}']").inner_text().strip()
        if box.is_checked():
            before.add(label)
        box.set_checked(label in names)
    page.click("button:has-text('Save')")
    assert page.locator(".flash", has_text="Saved").count() == 1
    return before


def _visible_items(page) -> list[str]:
    items = page.locator("#competency-picker li")
    return [
        items.nth(i).get_attribute("data-label").split(" · ")[0]
        for i in range(items.count())
        if items.nth(i).is_visible()
    ]


def test_admin_imports_director_limits_student_picks_from_the_tree(browser, new_page, live_server):
    admin = new_page()
    sign_in(admin, live_server, f"admin@{DOMAIN}")
    admin.goto(f"{live_server}/frameworks")
    admin.click("a:has-text('Import a framework')")
    admin.set_input_files("#file", str(FRAMEWORK))
    admin.click("button:has-text('Preview')")
    # The preview answers at the same address as the form: wait for its text, not the URL.
    summary = "text=8 new, 0 updated, 0 unchanged, 0 retired, 0 with errors"
    expect(admin.locator(summary)).to_have_count(1)
    expect(admin.locator("tr.row-new")).to_have_count(8)
    screenshot(admin, "framework-preview")
    admin.click("button:has-text('Confirm import')")
    expect(admin.locator("h1", has_text=NAME)).to_have_count(1)

    director = new_page()
    before = _limit_program(director, live_server, {NAME})
    try:
        student = new_page()
        sign_in(student, live_server, f"student01@{DOMAIN}")
        student.goto(f"{live_server}/goals/new")
        # Only the chosen framework's tree: 8 nodes, none of the shipped EPAs.
        assert student.locator("#competency-picker .tree-group-name").all_inner_texts() == [NAME]
        assert len(_visible_items(student)) == 8
        assert student.locator("#competency-picker", has_text="EPA1").count() == 0
        assert student.locator(".picker-search-button").count() == 0  # live search instead
        student.fill("#competency-picker-q", "listens")
        expect(student.locator("#competency-picker-status")).to_have_text("2 of 8 shown")
        assert _visible_items(student) == ["ICS", "ICS-01"]
        assert axe_problems(student) == []
        screenshot(student, "goal-picker-search-1280")
        student.set_viewport_size({"width": 390, "height": 844})
        screenshot(student, "goal-picker-search-390")
        assert axe_problems(student) == []
        student.fill("#competency-picker-q", "")
        expect(student.locator("#competency-picker-status")).to_have_text("")
        assert len(_visible_items(student)) == 8

        # Without JavaScript the Search button sends the form back; nothing typed is lost.
        context = browser.new_context(java_script_enabled=False)
        plain = context.new_page()
        try:
            sign_in(plain, live_server, f"student01@{DOMAIN}")
            plain.goto(f"{live_server}/goals/new")
            plain.fill("#title", "Check understanding with teach-back")
            plain.check("#competency-picker li[data-label^='PC-01.3 '] > label input")
            plain.fill("#competency-picker-q", "listens")
            plain.click(".picker-search-button")
            assert plain.input_value("#title") == "Check understanding with teach-back"
            assert _visible_items(plain) == ["PC", "PC-01", "PC-01.3", "ICS", "ICS-01"]
            assert plain.is_checked("#competency-picker li[data-label^='PC-01.3 '] > label input")
            plain.click("button:has-text('Save draft')")
            assert plain.locator("h1", has_text="Check understanding with teach-back").count()
            assert plain.locator("text=PC-01.3").count() >= 1
        finally:
            context.close()
    finally:
        _limit_program(new_page(), live_server, before)  # the other browser tests' program
