"""Password hashing (argon2id) and Flask-Login wiring."""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager
from sqlalchemy import select

from clerkship.extensions import db
from clerkship.models import User, utcnow

# A hash of a random password, verified against when the account does not exist, so that
# a missing account takes as long to refuse as a wrong password (no user enumeration by timing).
_DUMMY_PASSWORD = "not-a-real-password-5b1e0c"  # noqa: S105


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()


def check_password(user: User | None, password: str) -> bool:
    """True when ``password`` is right; re-hashes in place if the parameters have changed."""
    hasher = _hasher()
    if user is None or not user.password_hash:
        with contextlib.suppress(VerificationError):
            hasher.verify(hasher.hash(_DUMMY_PASSWORD), password)
        return False
    try:
        hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def init_login(app: Flask, login_manager: LoginManager) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = app.config["SESSION_PROTECTION"]

    @login_manager.user_loader
    def load_user(session_token: str) -> User | None:
        # The id in the session is the rotating session token, never the primary key, so
        # rotating it (sign-out everywhere, password change, deactivation) ends sessions.
        user = db.session.scalar(select(User).where(User.session_token == session_token))
        if user is None or not user.active:
            return None
        return user
