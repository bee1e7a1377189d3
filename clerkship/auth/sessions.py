"""Server-side sign-in sessions: idle and absolute time-outs, sign-out that really ends them.

The signed cookie carries the user's session token (Flask-Login's id) and a random key for
this browser. A session is alive only while its row is not ended, the user's token still
matches, it has been used within ``SESSION_IDLE_MINUTES`` and it is younger than
``SESSION_MAX_HOURS``. Services flush, never commit.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from clerkship.extensions import db
from clerkship.models import SignInSession, User, utcnow

# Refresh "last seen" at most this often: one write a minute, not one per page.
TOUCH_EVERY = timedelta(seconds=60)


class Expired(Exception):
    """The session ran out; ``reason`` is "idle" or "max_age"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def idle_limit() -> timedelta:
    return timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


def max_age() -> timedelta:
    return timedelta(hours=current_app.config["SESSION_MAX_HOURS"])


def start(user: User, user_agent: str = "") -> str:
    """A new session for ``user``; returns the key to keep in the cookie."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        SignInSession(
            user=user,
            key_hash=_hash(key),
            created_at=now,
            last_seen_at=now,
            user_agent=(user_agent or "")[:255],
        )
    )
    db.session.flush()
    return key


def load(session_token: str, key: str | None, now: datetime | None = None) -> User:
    """The user whose live session this is. Raises Expired when it timed out, LookupError
    when there is no such live session (signed out, ended elsewhere, deactivated)."""
    return live(session_token, key, now)[0]


def live(
    session_token: str, key: str | None, now: datetime | None = None
) -> tuple[User, SignInSession]:
    """:func:`load`, with the session row (its last activity decides :func:`due`)."""
    if not key:
        raise LookupError
    row = db.session.execute(
        select(SignInSession, User)
        .join(User, User.id == SignInSession.user_id)
        .where(
            SignInSession.key_hash == _hash(key),
            SignInSession.ended_at.is_(None),
            User.session_token == session_token,
            User.active.is_(True),
        )
    ).first()
    if row is None:
        raise LookupError
    signed_in, user = row
    now = now or utcnow()
    if now - signed_in.created_at > max_age():
        raise Expired("max_age")
    if now - signed_in.last_seen_at > idle_limit():
        raise Expired("idle")
    return user, signed_in


def due(signed_in: SignInSession, now: datetime | None = None) -> bool:
    """Whether this session's activity time is old enough to record again (see TOUCH_EVERY):
    most pages write nothing at all."""
    return (now or utcnow()) - signed_in.last_seen_at >= TOUCH_EVERY


def touch(key: str, now: datetime | None = None) -> bool:
    """Record activity on this session (at most once a minute). True when a row changed."""
    now = now or utcnow()
    result = db.session.execute(
        update(SignInSession)
        .where(
            SignInSession.key_hash == _hash(key),
            SignInSession.ended_at.is_(None),
            SignInSession.last_seen_at < now - TOUCH_EVERY,
        )
        .values(last_seen_at=now)
    )
    return bool(result.rowcount)


def _end(query, reason: str) -> int:
    result = db.session.execute(
        query.where(SignInSession.ended_at.is_(None)).values(
            ended_at=utcnow(), ended_reason=reason
        )
    )
    return result.rowcount


def end(key: str | None, reason: str = "signed_out") -> None:
    if key:
        _end(update(SignInSession).where(SignInSession.key_hash == _hash(key)), reason)


def end_others(user: User, keep_key: str | None) -> int:
    """End every session of ``user`` except this browser's; returns how many ended."""
    query = update(SignInSession).where(SignInSession.user_id == user.id)
    if keep_key:
        query = query.where(SignInSession.key_hash != _hash(keep_key))
    return _end(query, "other_device")


def end_all(user: User, reason: str) -> int:
    return _end(update(SignInSession).where(SignInSession.user_id == user.id), reason)


def prune(now: datetime | None = None) -> int:
    """Delete sessions unused for ``SESSION_KEEP_DAYS`` (long dead: the absolute limit is
    hours), so browser names and times are not kept for ever. Returns how many went."""
    since = (now or utcnow()) - timedelta(days=current_app.config["SESSION_KEEP_DAYS"])
    result = db.session.execute(delete(SignInSession).where(SignInSession.last_seen_at < since))
    return result.rowcount


# (what the User-Agent contains, what people call it); first match wins, Edge before Chrome.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "Mac"),
    ("Linux", "Linux"),
)


def describe_browser(user_agent: str | None) -> str:
    """ "Firefox on Windows" from a User-Agent header, enough to recognise one's own devices."""
    user_agent = user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or _("Unknown browser")


def live_for(user: User, current_key: str | None = None) -> list[tuple[SignInSession, bool]]:
    """The user's sessions that still work, newest activity first, each with "is this one"."""
    now = utcnow()
    rows = db.session.scalars(
        select(SignInSession)
        .where(
            SignInSession.user_id == user.id,
            SignInSession.ended_at.is_(None),
            SignInSession.last_seen_at >= now - idle_limit(),
            SignInSession.created_at >= now - max_age(),
        )
        .order_by(SignInSession.last_seen_at.desc())
    ).all()
    current_hash = _hash(current_key) if current_key else None
    return [(row, row.key_hash == current_hash) for row in rows]
