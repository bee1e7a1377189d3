"""Sign-in and password rules. Services flush, never commit."""

from __future__ import annotations

from sqlalchemy import func, select

from clerkship import audit
from clerkship.extensions import db
from clerkship.models import User, utcnow
from clerkship.security import check_password, set_password


class WrongPassword(Exception):
    """The current password given does not match."""


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The user if the e-mail and password match an active account; every attempt is audited."""
    user = find_by_email(email)
    ok = check_password(user, password) and user is not None and user.active
    if ok:
        user.last_sign_in_at = utcnow()
        audit.record(user, "auth.sign_in", user)
        return user
    audit.record(
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


def change_password(user: User, current: str, new: str) -> None:
    """Change a password after re-checking the current one; other sessions end."""
    if not check_password(user, current):
        audit.record(user, "auth.password_change_refused", user)
        raise WrongPassword
    set_password(user, new)
    user.rotate_session_token()
    audit.record(user, "auth.password_changed", user)
    db.session.flush()


def set_new_password(user: User, new: str) -> None:
    """Through a set-password link: the link itself is the proof; other sessions end."""
    set_password(user, new)
    user.rotate_session_token()
    audit.record(user, "auth.password_set_by_link", user)
    db.session.flush()


def sign_out(user: User) -> None:
    audit.record(user, "auth.sign_out", user)
