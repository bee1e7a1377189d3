"""Was a credential issued here, as it reads? A good signature is not enough: a key can leak,
and a retired key stays published so that what it signed still verifies. So a credential must
carry the id of a row in ``issued_credential``, say what we issued under that id (issuer,
achievement, status entry, issue date), and, if its key is retired, have been issued
before that key's retirement. A CLR must hold only such credentials, of one student, under the
id we derive from them."""

from __future__ import annotations

from datetime import datetime

from clerkship import signing_keys
from clerkship.credentials import documents, issuing, vcjwt
from clerkship.credentials.verify import KEY_RETIRED, NOT_AS_ISSUED, NOT_ISSUED, WRONG_KEY
from clerkship.models import IssuedCredential

Refusal = tuple[str, str] | None  # (verdict state, detail), None: issued here as it reads

URN = "urn:uuid:"


def _row(credential: dict) -> IssuedCredential | None:
    credential_id = credential.get("id")
    if not isinstance(credential_id, str) or not credential_id.startswith(URN):
        return None
    return issuing.by_uuid(credential_id[len(URN) :])


def _at(credential: object, *path: str | int) -> object:
    for step in path:
        try:
            credential = credential[step]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return None
    return credential


# What must be as issued: who issued it, whom it names, what it says they achieved, where its
# revocation bit is, and when it was issued (what the key's retirement is compared with).
# Not the wording (names, scale labels): it is rebuilt from live set-up data that may be
# renamed after a download. Not the subject's identity hash either: it is made from the
# student's e-mail address, which may change after a download; the row (found by the
# credential's id) already says whose it is.
SAME = {
    "issuer": ("issuer", "id"),
    "achievement": ("credentialSubject", "achievement", "id"),
    "status": ("credentialStatus",),
    "validFrom": ("validFrom",),
}


def _differs(claimed: dict, issued: dict) -> str | None:
    for name, path in SAME.items():
        if _at(claimed, *path) != _at(issued, *path):
            return f"{name} differs from what was issued"
    return None


def _achievement(credential: dict) -> tuple[Refusal, IssuedCredential | None]:
    row = _row(credential)
    if row is None:
        return (NOT_ISSUED, str(credential.get("id") or "no id")), None
    mismatch = _differs(credential, documents.achievement_credential(row))
    return ((NOT_AS_ISSUED, mismatch), row) if mismatch else (None, row)


def _clr(credential: dict) -> Refusal:
    held = _at(credential, "credentialSubject", "verifiableCredential")
    if not isinstance(held, list) or not held or not all(isinstance(c, dict) for c in held):
        return NOT_ISSUED, "no credentials issued here in the record"
    rows: list[IssuedCredential] = []
    for one in held:
        refusal, row = _achievement(one)
        if refusal is not None or row is None:
            return refusal
        rows.append(row)
    if len({row.cycle.student_id for row in rows}) != 1 or len({r.program_id for r in rows}) != 1:
        return NOT_AS_ISSUED, "the record holds credentials of several students or programs"
    issued = documents.clr_credential(rows[0].cycle.student, rows[0].program, rows)
    if credential.get("id") != issued["id"]:
        return NOT_ISSUED, str(credential.get("id") or "no id")
    mismatch = _differs(credential, issued)
    return (NOT_AS_ISSUED, mismatch) if mismatch else None


def _retired_before_issue(kid: str, credential: dict) -> bool:
    retired = signing_keys.ring().retired_at.get(kid)
    issued = _at(credential, "validFrom")
    if retired is None or not isinstance(issued, str):
        return False
    # Whole seconds on both sides (the key file and validFrom): issued in the very second of
    # the rotation still counts as before it.
    return datetime.fromisoformat(issued.replace("Z", "+00:00")) > retired


def check(header: dict, credential: dict) -> Refusal:
    """Why this verified credential is not one this instance issued, or None."""
    kid = vcjwt.thumbprint_of(header.get("kid"))
    if kid not in signing_keys.ring().public:
        return WRONG_KEY, f"key id {kid} is not this instance's"
    kinds = credential.get("type")
    kinds = kinds if isinstance(kinds, list) else []
    if "ClrCredential" in kinds:
        refusal = _clr(credential)
    elif "AchievementCredential" in kinds:
        refusal, _row_found = _achievement(credential)
    else:
        refusal = NOT_ISSUED, "not a credential this instance issues"
    if refusal is None and _retired_before_issue(kid, credential):
        return KEY_RETIRED, f"key {kid}"
    return refusal
