"""Roster files waiting between preview and confirmation, in ``instance/imports``.

They hold names and e-mail addresses, so none stays longer than it is needed: a file is
deleted when its import is confirmed or cancelled, and the hourly task
(:func:`clerkship.tasks.expire_pending_imports`) deletes any left behind (a browser closed on
the preview) once it is older than ``IMPORT_KEEP_MINUTES``.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from flask import current_app

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _folder() -> Path:
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(raw: bytes) -> str:
    """Keep an uploaded file until it is confirmed; its token (a random name)."""
    token = secrets.token_urlsafe(16)
    (_folder() / token).write_bytes(raw)
    return token


def path(token: str) -> Path | None:
    """The waiting file of ``token``, or None (never anything outside the folder)."""
    if not _TOKEN.match(token or ""):
        return None
    found = _folder() / token
    return found if found.is_file() else None


def discard(token: str) -> None:
    found = path(token)
    if found is not None:
        found.unlink(missing_ok=True)


def expire(older_than_minutes: int | None = None) -> int:
    """Delete waiting files older than ``IMPORT_KEEP_MINUTES``; how many were deleted."""
    minutes = older_than_minutes
    if minutes is None:
        minutes = current_app.config["IMPORT_KEEP_MINUTES"]
    cutoff = time.time() - minutes * 60
    deleted = 0
    for found in _folder().iterdir():
        if found.is_file() and found.stat().st_mtime < cutoff:
            found.unlink(missing_ok=True)
            deleted += 1
    return deleted
