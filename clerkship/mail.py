"""Outgoing e-mail: rendered from templates, sent only after the database commit that caused it.

Services call :func:`send` with a template name under ``templates/emails/`` and its context:
the message template gives the subject and the body (``{% block subject %}``, ``{% block body
%}``), and ``emails/_layout.txt`` and ``emails/_layout.html`` wrap them (greeting, links,
sign-off) into the plain-text and HTML parts. Nothing else builds an e-mail. The messages wait
for the commit (:func:`clerkship.transactions.after_commit`), so a rolled-back action sends
nothing and a mail failure (logged) never undoes what the user did. SMTP is talked to by the
task workers, never inside a request: a slow mail server holds up no page, and "Forgot your
password?" takes as long for an address with an account as for one without (no way to tell
who has one). The app factory hands this module the queue's task, so mail never imports
clerkship.tasks (tasks imports mail: no cycle).
Backends, chosen by ``MAIL_BACKEND``:

- ``console`` (default, for development): every message, whole, printed to the standard
  output of the process that sends it (the terminal running ``make run``, workers included),
  so a new user's set-password link can be copied from there;
- ``file``: one ``.eml`` file per message in ``MAIL_FILE_DIR`` (default ``instance/mail``);
- ``smtp``: ``MAIL_SMTP_HOST``, ``MAIL_SMTP_PORT``, ``MAIL_SMTP_USERNAME``,
  ``MAIL_SMTP_PASSWORD``, ``MAIL_SMTP_STARTTLS``;
- ``memory``: kept in ``app.extensions["mail_outbox"]`` (tests).
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import sys
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import force_locale

logger = logging.getLogger("clerkship.mail")
# Where a message goes when the backend is SMTP: a task-queue function taking the raw bytes.
# The app factory sets it (clerkship.tasks.send_email), so this module never imports the queue.
_LATER_KEY = "mail_send_later"
# True inside :func:`held`: nothing is rendered or sent.
_HELD: ContextVar[bool] = ContextVar("clerkship_mail_held", default=False)


class Email(EmailMessage):
    """A message with a plain-text and an HTML part; ``get_content()`` is the plain text."""

    def get_content(self, *args: Any, **kwargs: Any) -> Any:
        if self.is_multipart():
            body = self.get_body(("plain",))
            if body is not None:
                return body.get_content(*args, **kwargs)
        return super().get_content(*args, **kwargs)


def init_app(app: Flask, send_later: Callable[[bytes], object]) -> None:
    app.extensions[_LATER_KEY] = send_later


def render(template: str, **context: Any) -> tuple[str, str, str]:
    """(subject, text, html) of ``templates/emails/<template>.txt`` in the current locale."""
    env = current_app.jinja_env
    message = env.get_template(f"emails/{template}.txt")
    blocks = message.new_context(context)
    subject = " ".join("".join(message.blocks["subject"](blocks)).split())
    body = "".join(message.blocks["body"](blocks)).strip()
    paragraphs = [part.strip() for part in body.split("\n\n") if part.strip()]
    text = render_template("emails/_layout.txt", paragraphs=paragraphs, **context)
    html = render_template(
        "emails/_layout.html", subject=subject, paragraphs=paragraphs, **context
    )
    return subject, text.strip() + "\n", html


def send(to: str | None, template: str, *, locale: str | None = None, **context: Any) -> None:
    """Render ``emails/<template>`` (in ``locale``, else the page's) and send it after the
    commit. People without an address are skipped, and so is everyone inside :func:`held`."""
    if not to or _HELD.get():
        return
    with force_locale(locale) if locale else contextlib.nullcontext():
        subject, text, html = render(template, **context)
    _queue(_build(to, subject, text, html))


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Send no e-mail from this block, and render none: for work done in people's name that
    must not reach them (the demo year writes through the services, which notify, but its
    made-up people have no inbox)."""
    token = _HELD.set(True)
    try:
        yield
    finally:
        _HELD.reset(token)


def _queue(message: EmailMessage) -> None:
    from clerkship import transactions

    transactions.after_commit(lambda: _dispatch(message))


def _build(to: str, subject: str, text: str, html: str) -> EmailMessage:
    message = Email()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    # One line: a title or name with a line break in it (even U+2028) is no header value.
    message["Subject"] = " ".join(subject.split())
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="clerkship.local")
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def deliver(app: Flask, message: EmailMessage) -> None:
    """Hand one message to the configured backend, now."""
    backend = app.config["MAIL_BACKEND"]
    if backend == "memory":
        app.extensions.setdefault("mail_outbox", []).append(message)
    elif backend == "file":
        folder = Path(app.config.get("MAIL_FILE_DIR") or Path(app.instance_path) / "mail")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{uuid.uuid4().hex}.eml").write_bytes(bytes(message))
    elif backend == "smtp":
        config = app.config
        with smtplib.SMTP(config["MAIL_SMTP_HOST"], config["MAIL_SMTP_PORT"], timeout=10) as smtp:
            if config.get("MAIL_SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("MAIL_SMTP_USERNAME"):
                smtp.login(config["MAIL_SMTP_USERNAME"], config["MAIL_SMTP_PASSWORD"])
            smtp.send_message(message)
    else:
        print_to_console(message)


def print_to_console(message: EmailMessage) -> None:
    # Printed, not logged: the log's level hid it (INFO) and its filter takes tokens out of
    # links, and this backend exists so a developer can follow those links.
    body = message.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    rule = "-" * 72
    sys.stdout.write(
        f"{rule}\nE-mail to {message['To']}\nSubject: {message['Subject']}\n\n{text}{rule}\n"
    )
    sys.stdout.flush()


def _dispatch(message: EmailMessage) -> None:
    app = current_app._get_current_object()
    try:
        if app.config["MAIL_BACKEND"] == "smtp":
            app.extensions[_LATER_KEY](bytes(message))
        else:
            deliver(app, message)
    except Exception:
        # The user's action is already committed; a lost e-mail must not undo it.
        logger.exception("could not send e-mail to %s", message["To"])


def outbox(app: Flask) -> list[EmailMessage]:
    """Messages the ``memory`` backend has kept (tests)."""
    return app.extensions.setdefault("mail_outbox", [])
