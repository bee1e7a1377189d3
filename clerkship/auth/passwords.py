"""What makes a new password acceptable (NIST SP 800-63B, OWASP ASVS 2.1).

Long enough, not too long to hash, and not one that attackers try first. No composition rules
(a digit, a capital, a symbol): they make passwords harder to remember, not harder to guess.
The common-password list is the 30,000 most frequent passwords shipped with zxcvbn.
"""

from __future__ import annotations

import functools
import re

from flask import current_app
from flask_babel import gettext as _

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
