"""Workflow 3 of DESIGN.md on a phone: a continuity patient answers through a link, in
Spanish, and the student reads it. axe-core checks every patient page."""

import re
import statistics
import time

import pytest

from tests.browser.conftest import ARTIFACTS, axe_problems, screenshot, sign_in

pytestmark = pytest.mark.browser

DOMAIN = "riverbend.example.org"
PHONE = {"width": 390, "height": 844}


def _at_both_widths(page, name: str) -> None:
    """Screenshots at 390 and 1280 px (and the printed page), nothing wider than the window."""
    size = page.viewport_size
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        ), (name, width)
        screenshot(page, f"{name}-{width}")
    page.emulate_media(media="print")
    screenshot(page, f"{name}-print")
    page.emulate_media(media="screen")
    page.set_viewport_size(size)


def _new_link(student, base: str, patient: str, purpose: str = "feedback") -> str:
    student.goto(f"{base}/panel/")
    section = student.locator("section", has=student.locator("h2", has_text=patient))
    section.locator(f"input[name$='-purpose'][value='{purpose}']").check()
    section.locator("button:has-text('Create link and QR code')").click()
    # count() does not wait: let the page after the click arrive first (flaky under load).
    student.locator(".qr svg").first.wait_for()
    assert student.locator(".qr svg").count() == 1
    return student.locator(".link-text a").inner_text().strip()


def _answer_in_spanish(phone, link: str) -> int:
    """Fill the form as a patient would; returns the number of taps and keyboard entries."""
    phone.goto(link)
    taps = 1  # opening the link
    questions = phone.locator("fieldset.question")
    for index in range(questions.count() - 1):  # the last one is the name choice
        phone.locator("fieldset.question").nth(index).locator("label.answer").nth(3).click()
        taps += 1
    phone.fill("#hope_next", "Que siga explicando despacio.")
    taps += 1
    phone.locator("label.answer", has_text="Sí — mostrar mi nombre").click()
    phone.locator("button:has-text('Enviar mis respuestas')").click()
    return taps + 2


def test_patient_answers_in_spanish_on_a_phone(new_page, live_server):
    student = new_page()
    sign_in(student, live_server, f"student01@{DOMAIN}")

    # The student puts a Spanish-speaking patient on their panel, with consent today.
    student.goto(f"{live_server}/panel/")
    student.fill("#name", "Sra. López")
    student.check("input[name='language'][value='es']")
    student.fill("#consent_date", time.strftime("%Y-%m-%d"))
    student.click("button:has-text('Add to panel')")
    assert student.locator(".flash", has_text="Added to the panel").count() == 1

    phone_context_pages = []
    timings, taps = [], 0
    for run in range(3):
        link = _new_link(student, live_server, "Sra. López")
        assert re.search(r"/p/[A-Za-z0-9_-]{32}$", link)
        phone = new_page(**PHONE)
        phone_context_pages.append(phone)
        started = time.perf_counter()
        phone.goto(link)
        assert phone.locator("html[lang='es']").count() == 1
        assert phone.locator("h1", has_text="¿Cómo lo está haciendo").count() == 1
        if run == 0:
            screenshot(student, "invitation-qr")
            # Signed-in pages carry the role badge: white on it must reach 4.5:1 (issue 16).
            assert axe_problems(student) == []
            # The card speaks to the patient in Spanish; the page around it to the student.
            card = student.locator("section.patient-card[lang='es']")
            assert card.locator("text=Abra la cámara de su teléfono.").count() == 1
            _at_both_widths(student, "patient-card-es")
            _at_both_widths(phone, "patient-page-es")
            assert axe_problems(phone) == []
            screenshot(phone, "patient-form-es-phone")
            # Nothing on the page is wider than the phone.
            assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        taps = _answer_in_spanish(phone, link)
        assert phone.locator("h1", has_text="¡Gracias!").count() == 1
        timings.append(time.perf_counter() - started)
    phone = phone_context_pages[0]
    assert phone.locator("text=Verán su nombre.").count() == 1
    assert axe_problems(phone) == []
    screenshot(phone, "patient-thanks-es-phone")

    # The patient may take the answers back (third run), then the page says so.
    last = phone_context_pages[-1]
    last.click("a:has-text('Retirar mis respuestas')")
    # It asks first (a page of its own: no JavaScript needed), in the patient's language.
    assert last.locator("h1", has_text="¿Retirar sus respuestas?").count() == 1
    assert axe_problems(last) == []
    screenshot(last, "patient-withdraw-confirm-es-phone")
    last.click("button:has-text('Sí, retirar mis respuestas')")
    assert last.locator("h1", has_text="Sus respuestas se retiraron").count() == 1
    assert axe_problems(last) == []
    last.click("button:has-text('Terminé')")
    assert axe_problems(last) == []

    # A broken link gets a friendly page, in the language of the browser, also accessible.
    broken = new_page(**PHONE)
    broken.goto(f"{live_server}/p/{'Q' * 32}")
    assert broken.locator("h1", has_text="Sorry").count() == 1
    assert axe_problems(broken) == []

    student.goto(f"{live_server}/panel/")
    screenshot(student, "panel")

    # The student sees the two responses that were not withdrawn, with the patient's name.
    student.goto(f"{live_server}/panel/")
    student.click("a:has-text('Patient feedback')")
    responses = student.locator("article.response", has_text="Sra. López")
    assert responses.count() == 2
    assert responses.first.locator("text=Que siga explicando despacio.").count() == 1
    screenshot(student, "patient-feedback-student")

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "patient-form-timing.txt").write_text(
        f"scripted runs: {len(timings)}; median {statistics.median(timings):.2f} s; "
        f"taps and entries per run: {taps}\n"
    )


def test_patient_adds_their_view_to_a_goal(new_page, live_server):
    student = new_page()
    sign_in(student, live_server, f"student02@{DOMAIN}")
    student.goto(f"{live_server}/panel/")
    # Demo goals are shared with the first patient on the panel.
    first = student.locator("section[id^='entry-']").first
    name = first.locator("h2").inner_text().strip()
    link = _new_link(student, live_server, name, purpose="goal_input")
    card = student.locator("section.patient-card")
    assert card.locator("text=Open the camera on your phone.").count() == 1
    assert axe_problems(student) == []
    _at_both_widths(student, "patient-card-en")
    phone = new_page(**PHONE)
    phone.goto(link)
    assert phone.locator("section.goal-card h2").count() == 1
    assert axe_problems(phone) == []
    phone.fill("#view", "I would like this too.")
    phone.locator("label.answer", has_text="matters").click()
    phone.locator("button[type='submit']").last.click()
    assert phone.locator("h1", has_text=re.compile("Thank you|Gracias")).count() == 1
    screenshot(phone, "patient-goal-phone")
