"""Single-use, expiring links to set a password (new accounts and password resets).

Signed with itsdangerous; the payload carries a fingerprint of the account's current
password hash and session token, so a link stops working once it has been used (the password
changes: every other link for the account stops too) or once the account is deactivated.
Links sent by the program office last ``PASSWORD_LINK_DAYS``; a link someone asks for with
"Forgot your password?" only ``PASSWORD_RESET_LINK_HOURS``.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from clerkship.clock import utcnow
from clerkship.extensions import db
from clerkship.models import User
from clerkship.urls import external_url

SALT = "clerkship-set-password"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    state = f"{user.password_hash or ''}|{user.session_token}|{user.active}"
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def make_token(user: User, *, asked_for: bool = False) -> str:
    """``asked_for``: from "Forgot your password?" (short-lived), not sent by the office."""
    payload = {"u": user.id, "f": _fingerprint(user)}
    if asked_for:
        payload["r"] = 1
    return _serializer().dumps(payload)


def link_for(user: User, *, asked_for: bool = False) -> str:
    return external_url("auth.set_password", token=make_token(user, asked_for=asked_for))


def valid_days() -> int:
    return current_app.config["PASSWORD_LINK_DAYS"]


def reset_hours() -> int:
    return current_app.config["PASSWORD_RESET_LINK_HOURS"]


def user_for(token: str) -> User | None:
    """The account a link is for, or None if it is forged, expired, used or outdated."""
    max_age = valid_days() * 86400
    try:
        data, signed_at = _serializer().loads(token, max_age=max_age, return_timestamp=True)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("r") and utcnow() - signed_at > timedelta(hours=reset_hours()):
        return None
    user = db.session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or not user.active or data.get("f") != _fingerprint(user):
        return None
    return user
