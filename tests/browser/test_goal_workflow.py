"""Workflow 1 of DESIGN.md in a real browser, with three people in three browsers."""

import re

import pytest

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

DOMAIN = "riverbend.example.org"


def test_student_preceptor_and_patient_coproduce_a_goal(new_page, live_server):
    student, preceptor, patient = new_page(), new_page(width=390, height=844), new_page(390, 844)
    sign_in(student, live_server, f"student01@{DOMAIN}")
    sign_in(preceptor, live_server, f"preceptor01@{DOMAIN}")
    sign_in(patient, live_server, f"patient@{DOMAIN}")

    # The student drafts a goal and shares it with a preceptor and a panel patient.
    student.goto(f"{live_server}/goals/new")
    student.fill("#title", "Use plain words when I explain a diagnosis")
    student.fill("#specific", "Explain each new diagnosis without jargon")
    student.fill("#measure", "My patients tell me they understood")
    student.check("text=EPA6 · Provide an oral presentation of a clinical encounter")
    student.click("button:has-text('Save draft')")
    goal_url = student.url
    assert re.search(r"/goals/\d+$", goal_url)
    student.click("a:has-text('Share')")
    preceptor_name = preceptor.locator(".who").inner_text().split("\n")[0].strip()
    student.get_by_label(re.compile(re.escape(preceptor_name.split(" Preceptor")[0]))).check()
    patient_name = patient.locator(".who").inner_text().split("\n")[0].strip()
    student.get_by_label(re.compile(re.escape(patient_name.split(" Patient")[0]))).check()
    student.click("button:has-text('Save sharing')")
    assert student.locator(".status", has_text="shared").count() == 1

    # The preceptor sees it waiting and suggests better wording.
    preceptor.goto(f"{live_server}/")
    preceptor.click("text=Use plain words when I explain a diagnosis")
    preceptor.select_option("#field", "measure")
    preceptor.fill("#proposed_text", "My patients can explain it back to me (teach-back)")
    preceptor.click("button:has-text('Send suggestion')")
    assert preceptor.locator(".flash", has_text="Suggestion sent").count() == 1

    # The student accepts; version 2 credits the preceptor.
    student.goto(goal_url)
    student.click("button:has-text('Accept — make a new version')")
    assert student.locator(".flash", has_text="version 2 credits").count() == 1

    # The preceptor agrees to version 2 (a signature on that version).
    preceptor.goto(goal_url)
    preceptor.click("button:has-text('Agree to version 2')")
    assert preceptor.locator(".status", has_text="agreed").count() == 1

    # The patient says it matters to them.
    patient.goto(goal_url)
    patient.fill("#endorse_note", "Yes — doctors often lose me.")
    patient.click("button:has-text('This matters to me')")
    assert patient.locator(".flash", has_text="Thank you").count() == 1
    screenshot(patient, "goal-patient-phone")

    # The student records progress, then closes the goal with a reflection.
    student.goto(goal_url)
    student.check("input[value='progress_note']")
    student.fill("#body", "Used teach-back with four patients this week.")
    student.click("button:has-text('Add')")
    student.click("a:has-text('Close goal')")
    student.check("input[value='achieved']")
    student.fill("#reflection", "Asking patients to explain it back showed me where I lost them.")
    student.click("button:has-text('Close goal')")
    assert student.locator("h2", has_text="Closed as achieved").count() == 1
    thread = student.locator("#thread").inner_text()
    for expected in ("suggestion", "agreement", "endorsement", "progress note"):
        assert expected in thread
    screenshot(student, "goal-closed")

    student.click("text=history and changes")
    assert student.locator(".tag", has_text="signature valid").count() == 1
    inserted = " ".join(student.locator("ins").all_inner_texts())
    assert "explain it back" in inserted and "(teach-back)" in inserted
