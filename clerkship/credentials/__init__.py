"""Entrustment decisions as verifiable credentials.

- decisions.py: which signed assessments are entrustment decisions (the one rule);
- issuing.py: the issued-credential rows (stable id, status-list index), withdrawal;
- documents.py: the Open Badges 3.0 AchievementCredential, the CLR 2.0 ClrCredential, the
  issuer profile and the BitstringStatusListCredential, as JSON;
- jwt.py: VC-JWT signing and reading with the instance's Ed25519 key (joserfc);
- verify.py: the one offline verification the page and ``flask verify-credential`` share;
- views.py: downloads, issuer profile, status list, the public verify page.
"""

from flask import Blueprint

bp = Blueprint("credentials", __name__)

from clerkship.credentials import views  # noqa: E402,F401
