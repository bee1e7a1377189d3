"""Sign-in and password rules. Services flush, never commit."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from clerkship import audit, database, mail
from clerkship.auth import links, sessions
from clerkship.auth.passwords import check_password, set_password
from clerkship.domain import DomainError
from clerkship.extensions import db
from clerkship.models import Role, User, utcnow


class WrongPassword(DomainError):
    """The current password given does not match."""

    def __init__(self) -> None:
        super().__init__(_("That is not your current password."), "current_password")


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The user if the e-mail and password match an active account; every attempt is audited."""
    # Look up and check the hash holding no database lock (transactions.release_read).
    database.reading_first()
    user = find_by_email(email)
    ok = check_password(user, password) and user is not None and user.active
    if ok and user is not None:
        user.last_sign_in_at = utcnow()
        audit.record(user, "auth.sign_in", user)
        return user
    audit.record_refusal(
        None,
        "auth.sign_in_failed",
        user,
        after={"email": normalise_email(email)[:254], "reason": _failure_reason(user)},
    )
    return None


def _failure_reason(user: User | None) -> str:
    if user is None:
        return "unknown_email"
    if not user.active:
        return "inactive"
    return "wrong_password"


def change_password(
    user: User, current: str, new: str, *, end_others: bool, this_session: str | None
) -> int:
    """Change a password after re-checking the current one. With ``end_others``, every other
    session of the user ends; returns how many did."""
    if not check_password(user, current):
        audit.record_refusal(user, "auth.password_change_refused", user)
        raise WrongPassword
    set_password(user, new)
    ended = sessions.end_others(user, this_session) if end_others else 0
    audit.record(user, "auth.password_changed", user, after={"other_sessions_ended": ended})
    db.session.flush()
    return ended


def set_new_password(user: User, new: str) -> None:
    """Through a set-password link: the link itself is the proof, so every session ends."""
    set_password(user, new)
    user.rotate_session_token()
    sessions.end_all(user, "password_set")
    audit.record(user, "auth.password_set_by_link", user)
    db.session.flush()


def sign_in(user: User, user_agent: str) -> str:
    """Start a session for ``user`` (already authenticated); returns the browser's key."""
    return sessions.start(user, user_agent)


def sign_out(user: User, session_key: str | None) -> None:
    sessions.end(session_key, "signed_out")
    audit.record(user, "auth.sign_out", user)


def end_other_sessions(user: User, session_key: str | None) -> int:
    ended = sessions.end_others(user, session_key)
    audit.record(user, "auth.other_sessions_ended", user, after={"count": ended})
    return ended


def request_reset(email: str) -> None:
    """Someone asks for a link to choose a new password. Whether or not the address belongs to
    an account, the answer looks the same; only people who sign in can get a link."""
    user = find_by_email(email)
    if user is None or not user.active or user.role == Role.PATIENT:
        audit.record(None, "auth.reset_requested_unknown", None, after={"email": email[:254]})
        return
    mail.send(
        user.email,
        "password_reset",
        name=user.name,
        hours=links.reset_hours(),
        link=links.link_for(user, asked_for=True),
    )
    audit.record(user, "auth.reset_requested", user)
