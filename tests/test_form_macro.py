"""Every form is WTForms through the shared macro (templates/_macros/forms.html), so every
field has its label, and a refused one says so with aria-invalid and aria-describedby.

The first test reads the templates: no hand-written visible input, select or textarea
anywhere but the macro; a form that renders no field through the macro is a button-only form
named below with why. The others refuse one of the forms moved to WTForms last and look for
the marks on the page that comes back.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from clerkship.goals import service as goals
from clerkship.models import Cohort, ExportJob
from tests.conftest import login
from tests.patients.conftest import instrumented, invite  # noqa: F401  (fixtures)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
MACRO = TEMPLATES / "_macros" / "forms.html"
FORM = re.compile(r"<form\b.*?</form>", re.S)
MACRO_CALL = re.compile(r"(?<!\w)(field|level_scale)\(")  # field(...), not submission_field(...)
CONTROL = re.compile(r"<(input|select|textarea)\b[^>]*>", re.S)

# Hidden values a template may write itself: none is typed by anyone.
HIDDEN = {
    "csrf_token": "Flask-WTF's token on button-only forms",
    "version": "the version a signer saw (goals/show.html agree)",
    "token": "which previewed roster file to confirm or cancel",
    "start": "the period the portfolio page shows, sent with its export",
    "end": "the period the portfolio page shows, sent with its export",
    "few_ok": "the patient saw the note on few answers and sends as it is",
    "confirm": "the patient confirmed taking their answers back",
    "confirmed": "a director or admin confirmed deactivating an account (people/deactivate.html)",
    "SAMLResponse": "the IdP's signed answer, posted again from our page (sso/saml_relay.html)",
    "RelayState": "the IdP's RelayState, posted again with it",
    "relayed": "marks the second post of the IdP's answer",
}

# Forms that render no field through the macro: one button (and hidden values) each.
BUTTON_ONLY = {
    "accounts/edit.html": "send a set-password link, reactivate",
    "api/tokens.html": "revoke a token",
    "frameworks/preview.html": "confirm or cancel the previewed framework import",
    "people/deactivate.html": "deactivate (confirmed) or reactivate an account",
    "auth/sessions.html": "sign out everywhere else",
    "base.html": "sign out",
    "directory/dashboard.html": "send today's reminders",
    "directory/student.html": "reminder, password link, deactivate, reactivate, end pairing",
    "goals/show.html": "agree to a version, accept a suggestion",
    "integrity/page.html": "run the full check",
    "panels/invitation.html": "revoke the link",
    "panels/remove_feedback.html": "remove the feedback for good",
    "portfolios/show.html": "export as PDF (the period shown goes as hidden values)",
    "reminders/unsubscribe.html": "stop daily e-mails",
    "roster/preview.html": "confirm or cancel the previewed import",
    "visit/_finish.html": "the patient is done",
    "visit/base.html": "the patient's language buttons",
    "sso/saml_relay.html": "post the IdP's answer again with our session cookie (Continue)",
    "visit/withdraw.html": "take the answers back (confirmed)",
}


def _forms():
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for match in FORM.finditer(text):
            yield (
                f"{path.relative_to(TEMPLATES)}:{text[: match.start()].count(chr(10)) + 1}",
                (
                    path.relative_to(TEMPLATES).as_posix(),
                    match.group(0),
                ),
            )


def test_no_template_writes_a_field_by_hand():
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        if path == MACRO:
            continue
        text = path.read_text()
        for control in CONTROL.finditer(text):
            tag = control.group(0)
            where = f"{path.relative_to(TEMPLATES)}:{text[: control.start()].count(chr(10)) + 1}"
            name = re.search(r'name="([^"]+)"', tag)
            if 'type="hidden"' not in tag:
                problems.append(f"{where} hand-written {tag[:60]}")
            elif name is None or name.group(1) not in HIDDEN:
                problems.append(f"{where} hidden value not listed: {tag[:60]}")
    assert problems == []


def test_every_form_uses_the_macro_or_is_a_listed_button():
    unlisted = []
    seen_button_only = set()
    for where, (template, form) in _forms():
        if MACRO_CALL.search(form):
            continue
        assert "<button" in form, f"{where}: a form with neither fields nor a button"
        seen_button_only.add(template)
        if template not in BUTTON_ONLY:
            unlisted.append(where)
    assert unlisted == []
    assert set(BUTTON_ONLY) == seen_button_only  # the list says nothing stale


def _invalid(html: str, field_id: str) -> bool:
    """The control ``field_id`` is marked invalid and points at its message."""
    tag = re.search(rf'<(?:input|textarea|select)\b[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    return (
        tag is not None
        and 'aria-invalid="true"' in tag.group(0)
        and f"{field_id}-error" in tag.group(0)
        and f'id="{field_id}-error"' in html
    )


def test_a_bad_portfolio_period_is_marked_on_its_field(client, db, world):
    mine = world["mine"]
    login(client, mine["director"])
    response = client.get(f"/portfolios/{mine['student'].id}?start=2026-10-01&end=2026-09-01")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _invalid(html, "end")
    assert "The period cannot end before it starts." in html
    assert 'value="2026-10-01"' in html  # what was typed comes back


def test_a_refused_cohort_export_keeps_the_period_and_marks_it(client, db, world):
    mine = world["mine"]
    cohort: Cohort = mine["cohort"]
    login(client, mine["director"])
    response = client.post(
        f"/cohorts/{cohort.id}/export", data={"start": "2026-13-45", "end": "2026-09-01"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _invalid(html, "start")
    assert "Dates look like 2026-09-30." in html
    assert 'value="2026-09-01"' in html
    assert db.session.scalar(select(func.count()).select_from(ExportJob)) == 0


def test_declining_without_a_reason_marks_only_that_suggestions_field(
    client, db, world, make_goal
):
    mine = world["mine"]
    goal = make_goal(mine["student"], share_with=[mine["preceptor"]])
    first = goals.suggest(mine["preceptor"], goal, "measure", "Use teach-back")
    second = goals.suggest(mine["preceptor"], goal, "title", "Run a family meeting")
    db.session.commit()
    login(client, mine["student"])
    response = client.post(
        f"/goals/{goal.id}/suggestions/{first.id}/decline",
        data={f"suggestion-{first.id}-reason": "  "},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _invalid(html, f"suggestion-{first.id}-reason")
    assert not _invalid(html, f"suggestion-{second.id}-reason")
    assert f'id="suggestion-{second.id}-reason"' in html  # each has its own field

    declined = client.post(
        f"/goals/{goal.id}/suggestions/{second.id}/decline",
        data={f"suggestion-{second.id}-reason": "Not this year"},
    )
    assert declined.status_code == 302


def test_a_patient_question_with_a_bad_answer_is_marked(client, db, instrumented, invite):  # noqa: F811
    _invitation, token = invite()
    client.get(f"/p/{token}")
    page = client.get("/p/").get_data(as_text=True)
    first = re.search(r'name="(item-[^"]+)"', page).group(1)
    response = client.post(
        "/p/feedback",
        data={first: "99", "hope_next": "More listening", "show_name": "no"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(rf'<fieldset class="question has-error" id="{first}"', html)
    assert f'aria-describedby="{first}-error"' in html
    assert "More listening" in html  # what was written comes back
