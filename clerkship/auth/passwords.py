"""Passwords: how they are stored (argon2id) and what makes a new one acceptable
(NIST SP 800-63B, OWASP ASVS 2.1).

Long enough, not too long to hash, and not one that attackers try first. No composition rules
(a digit, a capital, a symbol): they make passwords harder to remember, not harder to guess.
The common-password list is the 30,000 most frequent passwords shipped with zxcvbn.
"""

from __future__ import annotations

import contextlib
import functools
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import gettext as _

from clerkship import transactions
from clerkship.clock import utcnow
from clerkship.extensions import db
from clerkship.models import User

# A hash of a random password, verified against when the account does not exist, so that
# a missing account takes as long to refuse as a wrong password (no user enumeration by timing).
_DUMMY_PASSWORD = "not-a-real-password-5b1e0c"  # noqa: S105

# Digits and signs people wrap around a weak word: "Password123!" is still "password".
_PADDING = re.compile(r"^[\W\d_]+|[\W\d_]+$")
# Runs along the keyboard or the number line ("123456789012", "qwertyuiopas").
_RUNS = ("0123456789" * 4, "9876543210" * 4, "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjkl")


@functools.cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _context_words(user) -> set[str]:
    """Words anyone who knows the person or this site would try first."""
    words = {"clerkship", current_app.config["PROGRAM_NAME"].lower()}
    if user is not None:
        if user.email:
            words.add(user.email.lower())
            words.add(user.email.split("@")[0].lower())
        words.update(part.lower() for part in (user.name or "").split() if len(part) >= 4)
    return {word for word in words if word}


def problem(password: str, user=None) -> str | None:
    """Why ``password`` cannot be used, in words for the person choosing it; None if it can."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    maximum = current_app.config["PASSWORD_MAX_LENGTH"]
    if len(password) < minimum:
        return _("Use at least %(n)d characters.", n=minimum)
    if len(password) > maximum:
        return _("Use at most %(n)d characters.", n=maximum)
    lowered = password.lower()
    core = _PADDING.sub("", lowered)
    if lowered in common_passwords() or core in common_passwords():
        return _("This is one of the most common passwords. Choose something of your own.")
    if len(set(lowered)) < 5 or any(lowered in run for run in _RUNS):
        return _("This repeats too few characters. A short sentence is easy to remember.")
    if core in _context_words(user) or any(
        word in lowered and len(word) >= len(lowered) - 4 for word in _context_words(user)
    ):
        return _("Do not build your password from your name, e-mail or this site's name.")
    return None


# --- storing ---------------------------------------------------------------------------------


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


@functools.cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    """Made once per set of parameters, so refusing a missing account costs one verify."""
    return PasswordHasher(time_cost, memory_cost, parallelism=parallelism).hash(_DUMMY_PASSWORD)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()


def _unchanged_since(user: User, stored: str) -> bool:
    """Read the account again in the transaction that acts on the check, locked until it
    commits (PostgreSQL; SQLite's write transaction holds its lock already): the password
    checked must still be the account's. Otherwise a password changed during the hash would
    let the old one in, and the re-hash below would even put the old password back. (The
    caller's next look at ``user.active`` reads this fresh row too.)"""
    db.session.refresh(user, with_for_update=True)
    return user.password_hash == stored


def check_password(user: User | None, password: str) -> bool:
    """True when ``password`` is right; re-hashes in place if the parameters have changed."""
    hasher = _hasher()
    stored = user.password_hash if user is not None else None
    # The hash takes ~0.2 s of CPU: hold no database lock meanwhile (see release_read).
    released = transactions.release_read()
    if user is None or not stored:
        with contextlib.suppress(VerificationError):
            hasher.verify(
                _dummy_hash(hasher.time_cost, hasher.memory_cost, hasher.parallelism), password
            )
        return False
    try:
        hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if released and not _unchanged_since(user, stored):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True
