"""Single-use, expiring links to set a password (new accounts and password resets).

Signed with itsdangerous; the payload carries a fingerprint of the account's current
password hash and session token, so a link stops working once it has been used (the password
changes), once a newer link was sent, or once the account is deactivated.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from clerkship.extensions import db
from clerkship.models import User
from clerkship.urls import external_url

SALT = "clerkship-set-password"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    state = f"{user.password_hash or ''}|{user.session_token}|{user.active}"
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def make_token(user: User) -> str:
    return _serializer().dumps({"u": user.id, "f": _fingerprint(user)})


def link_for(user: User) -> str:
    return external_url("auth.set_password", token=make_token(user))


def valid_days() -> int:
    return current_app.config["PASSWORD_LINK_DAYS"]


def user_for(token: str) -> User | None:
    """The account a link is for, or None if it is forged, expired, used or outdated."""
    max_age = valid_days() * 86400
    try:
        data = _serializer().loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict):
        return None
    user = db.session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or not user.active or data.get("f") != _fingerprint(user):
        return None
    return user
