"""E-mails are templates (templates/emails/), rendered and sent in one place (clerkship.mail)."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from clerkship import mail

ROOT = Path(__file__).resolve().parents[1]
EMAILS = sorted(p.stem for p in (ROOT / "templates" / "emails").glob("[!_]*.txt"))

_person = SimpleNamespace(name="Ana <b>Ruiz</b> & co")
_goal = SimpleNamespace(student=_person, latest=SimpleNamespace(title="Take <i>histories</i>"))
_cycle = SimpleNamespace(
    student=_person, competency=SimpleNamespace(label="EPA1 — History"), return_comment="Redo"
)
CONTEXT = {
    "name": "Ana <b>Ruiz</b> & co",
    "link": "https://clerkship.test/somewhere/1",
    "goal": _goal,
    "cycle": _cycle,
    "actor": _person,
    "author": _person,
    "student": _person,
    "contribution": SimpleNamespace(version_number=2, response_reason="too long"),
    "version": SimpleNamespace(title="Take histories", number=2),
    "accepted": False,
    "by_student": True,
    "for_feedback": True,
    "hours": 2,
    "days": 7,
    "expires_on": "2026-12-20",
    "lines": ["Review and sign: Ana — EPA1", "Agree to the goal “x”"],
    "home_link": "https://clerkship.test/",
    "unsubscribe_link": "https://clerkship.test/digest/unsubscribe/abc",
}


def test_every_email_template_is_known():
    assert {"digest", "patient_invitation", "password_reset", "goal_shared"} <= set(EMAILS)


@pytest.mark.parametrize("template", EMAILS)
def test_each_email_has_a_subject_a_text_and_an_escaped_html_part(app, template):
    with app.test_request_context():
        subject, text, html = mail.render(template, **CONTEXT)
    assert subject and "\n" not in subject and "{" not in subject
    assert text.startswith("Hello Ana <b>Ruiz</b> & co,") and text.rstrip().endswith("Clerkship")
    assert "Hello Ana &lt;b&gt;Ruiz&lt;/b&gt; &amp; co," in html
    assert "<b>Ruiz</b>" not in html and "<i>" not in html  # names and titles are escaped
    for url in ("https://clerkship.test/somewhere/1", "https://clerkship.test/digest/"):
        if url in text:
            assert f'href="{url}' in html  # links are links in the HTML part


def test_a_sent_message_has_both_parts_and_get_content_is_the_text(app, db):
    with app.test_request_context():
        mail.send("ana@example.org", "password_reset", **CONTEXT)
    db.session.commit()
    message = mail.outbox(app)[-1]
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("html",)).get_content().lstrip().startswith("<!doctype html>")
    assert "for 2 hours: https://clerkship.test/somewhere/1" in message.get_content()


def test_patient_invitation_is_in_the_patients_language(app, db):
    with app.test_request_context():
        mail.send("rosa@example.org", "patient_invitation", locale="es", **CONTEXT)
    db.session.commit()
    text = mail.outbox(app)[-1].get_content()
    assert "Hola" in text and "Hello" not in text


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_only_the_mail_module_builds_messages_and_it_never_imports_the_queue():
    builders = []
    for path in sorted((ROOT / "clerkship").rglob("*.py")):
        source = path.read_text()
        if path.name == "mail.py":
            continue
        if "EmailMessage(" in source or "mail.queue(" in source or "mail._build(" in source:
            builders.append(str(path.relative_to(ROOT)))
    assert builders == []
    assert "clerkship.tasks" not in _imports(ROOT / "clerkship" / "mail.py")
