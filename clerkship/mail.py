"""Outgoing e-mail, sent only after the database commit that caused it.

Services call :func:`queue`; the messages wait in the session and go out from an
``after_commit`` hook, so a rolled-back action sends nothing and a mail failure (logged)
never undoes what the user did. SMTP is talked to by the task workers, never inside a
request: a slow mail server holds up no page, and "Forgot your password?" takes as long
for an address with an account as for one without (no way to tell who has one).
Backends, chosen by ``MAIL_BACKEND``:

- ``console`` (default): written to the log;
- ``file``: one ``.eml`` file per message in ``MAIL_FILE_DIR`` (default ``instance/mail``);
- ``smtp``: ``MAIL_SMTP_HOST``, ``MAIL_SMTP_PORT``, ``MAIL_SMTP_USERNAME``,
  ``MAIL_SMTP_PASSWORD``, ``MAIL_SMTP_STARTTLS``;
- ``memory``: kept in ``app.extensions["mail_outbox"]`` (tests).
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

logger = logging.getLogger("clerkship.mail")
_OUTBOX_KEY = "clerkship_outbox"


def queue(to: str | None, subject: str, body: str) -> None:
    """Send after the current transaction commits. People without an address are skipped."""
    if not to:
        return
    from clerkship.extensions import db

    db.session.info.setdefault(_OUTBOX_KEY, []).append(_build(to, subject, body))


def _build(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    # One line: a title or name with a line break in it (even U+2028) is no header value.
    message["Subject"] = " ".join(subject.split())
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="clerkship.local")
    message.set_content(body)
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
        logger.info(
            "e-mail to %s: %s\n%s", message["To"], message["Subject"], message.get_content()
        )


@event.listens_for(Session, "after_commit")
def _send_outbox(session: Session) -> None:
    messages = session.info.pop(_OUTBOX_KEY, None)
    if not messages:
        return
    app = current_app._get_current_object()
    for message in messages:
        try:
            if app.config["MAIL_BACKEND"] == "smtp":
                from clerkship import tasks

                tasks.send_email(bytes(message))
            else:
                deliver(app, message)
        except Exception:
            # The user's action is already committed; a lost e-mail must not undo it.
            logger.exception("could not send e-mail to %s", message["To"])


@event.listens_for(Session, "after_rollback")
def _drop_outbox(session: Session) -> None:
    session.info.pop(_OUTBOX_KEY, None)


def outbox(app: Flask) -> list[EmailMessage]:
    """Messages the ``memory`` backend has kept (tests)."""
    return app.extensions.setdefault("mail_outbox", [])
