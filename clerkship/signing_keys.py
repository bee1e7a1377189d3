"""The program's Ed25519 signing key, kept outside the database in a JSON key file.

The file (``SIGNING_KEY_FILE``; ``instance/signing-key.json`` by default) holds the current
private key and the public halves of every retired key, so signatures made before a rotation
still verify. A key's id is its RFC 7638 JWK thumbprint. Development and testing create the
file when it is missing; production refuses to start without it (a missing key must never
mean silently unsigned records).

Create the first production key with ``python -m clerkship.signing_keys PATH``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from flask import Flask, current_app

from clerkship import key_files
from clerkship.config import ConfigError

EXTENSION = "signing_keys"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_bytes(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def thumbprint(public: Ed25519PublicKey) -> str:
    """RFC 7638: SHA-256 of the required JWK members, sorted, without whitespace."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": _b64(_public_bytes(public))}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode("ascii")).digest())


CHECKED_LIMIT = 100_000  # signature checks remembered per process (~20 MB at most)
# Verdicts remembered per process: each under what stands for the stored values it was read
# from (a goal agreement's: their SHA-256 and ids), a few MB at most; a 1,000-student school
# has ~3,000 agreements in force.
VERDICTS_LIMIT = 20_000


@dataclass
class KeyRing:
    private: Ed25519PrivateKey
    public: dict[str, Ed25519PublicKey] = field(default_factory=dict)  # kid -> key, all keys
    retired: list[str] = field(default_factory=list)
    # kid -> when it was retired (from the key file; a key may not sign what was issued later)
    retired_at: dict[str, datetime] = field(default_factory=dict)
    # (kid, signature, SHA-256 of the message) -> whether it verified (see verify)
    _checked: dict[tuple[str, str, bytes], bool] = field(default_factory=dict, repr=False)
    # every stored value a record's check reads -> whether it checked out (see remember)
    _verdicts: dict[tuple, bool] = field(default_factory=dict, repr=False)

    @property
    def kid(self) -> str:
        return thumbprint(self.private.public_key())

    def sign(self, message: bytes) -> tuple[str, str]:
        return self.kid, _b64(self.private.sign(message))

    def verify(self, kid: str | None, signature: str | None, message: bytes) -> bool:
        key = self.public.get(kid or "")
        if key is None or not signature:
            return False
        # Pages check the same signatures again and again (a cohort dashboard: 400 goal
        # agreements a view); the answer for one (key, signature, message) never changes.
        # Keyed by the message's SHA-256, so a changed record is checked afresh.
        remembered = (kid, signature, hashlib.sha256(message).digest())
        known = self._checked.get(remembered)
        if known is None:
            try:
                key.verify(_unb64(signature), message)
                known = True
            except (InvalidSignature, ValueError, TypeError):
                known = False
            if len(self._checked) >= CHECKED_LIMIT:
                self._checked.clear()  # a bound on memory; the next views fill it again
            self._checked[remembered] = known
        return known

    def verdict(self, stored: tuple) -> bool | None:
        """The verdict remembered under ``stored`` (see remember), or None if none is."""
        return self._verdicts.get(stored)

    def remember(self, stored: tuple, verdict: bool) -> None:
        """Remember a record's check under ``stored``: what stands for every value, as read
        from the database, that the check reads (a digest of the signature's columns and the
        signed record's: models.base.stored_digest). The same stored values under the same
        keys always give the same answer; an edited value is a new entry, checked afresh. A
        list that checks thousands of signatures a view (a cohort dashboard) then reads
        digests, not records. Not row versions (PostgreSQL's xmin and ctid): VACUUM FULL or a
        reused transaction id can give an edited row an earlier version's name."""
        if len(self._verdicts) >= VERDICTS_LIMIT:
            self._verdicts.clear()  # a bound on memory, as for _checked
        self._verdicts[stored] = verdict

    def jwks(self) -> dict:
        """The JWK Set: the current key first, then the retired ones."""
        kids = [self.kid] + [k for k in self.retired if k != self.kid]
        return {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": _b64(_public_bytes(self.public[kid])),
                    "kid": kid,
                    "use": "sig",
                    "alg": "EdDSA",
                    **({"status": "retired"} if kid != self.kid else {}),
                }
                for kid in kids
            ]
        }


def _to_json(private: Ed25519PrivateKey, retired: list[dict]) -> str:
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    document = {
        "current": {
            "kid": thumbprint(private.public_key()),
            "d": _b64(raw),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "retired": retired,
    }
    return json.dumps(document, indent=2) + "\n"


def create(path: Path) -> None:
    with key_files.writing(path.parent):
        if path.exists():
            raise FileExistsError(f"{path} already exists; use `flask rotate-signing-key`.")
        key_files.write_private(path, _to_json(Ed25519PrivateKey.generate(), []).encode())


def read(path: Path) -> KeyRing:
    """Parse the key file; ValueError/OSError say what is wrong with it."""
    document = json.loads(path.read_text())
    private = Ed25519PrivateKey.from_private_bytes(_unb64(document["current"]["d"]))
    ring = KeyRing(private=private)
    ring.public[ring.kid] = private.public_key()
    for entry in document.get("retired", []):
        public = Ed25519PublicKey.from_public_bytes(_unb64(entry["x"]))
        ring.public[thumbprint(public)] = public
        ring.retired.append(thumbprint(public))
        if entry.get("retired"):
            moment = datetime.fromisoformat(entry["retired"])
            ring.retired_at[thumbprint(public)] = (
                moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            )
    return ring


def rotate(path: Path) -> tuple[str, str]:
    """A new current key; the old one's public half joins the retired list. (old, new) ids."""
    with key_files.writing(path.parent):  # two rotations at once would lose a retired key
        return _rotate(path)


def _rotate(path: Path) -> tuple[str, str]:
    document = json.loads(path.read_text())
    old = read(path)
    retired = list(document.get("retired", []))
    retired.insert(
        0,
        {
            "kid": old.kid,
            "x": _b64(_public_bytes(old.private.public_key())),
            "retired": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    new = Ed25519PrivateKey.generate()
    key_files.write_private(path, _to_json(new, retired).encode())
    return old.kid, thumbprint(new.public_key())


def key_path(app: Flask) -> Path:
    configured = app.config.get("SIGNING_KEY_FILE")
    return Path(configured) if configured else Path(app.instance_path) / "signing-key.json"


def init_app(app: Flask) -> None:
    """Load the key at start-up; stop with one clear message when it cannot be used."""
    path = key_path(app)
    if app.config["ENV"] in ("development", "testing"):
        with contextlib.suppress(FileExistsError):  # made by a process started with this one
            create(path)
    try:
        ring = read(path)
    except (OSError, ValueError, KeyError, TypeError) as problem:
        raise ConfigError(
            f"The signing key file {path} is missing or unreadable ({problem.__class__.__name__}:"
            f" {problem}). Set SIGNING_KEY_FILE (or CLERKSHIP_SIGNING_KEY_FILE) to the key file,"
            f" or create one with `python -m clerkship.signing_keys {path}`. Clerkship does not"
            " start without it, so that no record is ever signed without the program's key."
        ) from None
    app.extensions[EXTENSION] = (path, path.stat().st_mtime_ns, ring)


def loaded_path() -> Path:
    """The key file this app loaded (what `rotate-signing-key` rotates)."""
    return current_app.extensions[EXTENSION][0]


def ring() -> KeyRing:
    """The key ring, read again when the file changed (a rotation by another process)."""
    path, mtime, loaded = current_app.extensions[EXTENSION]
    try:
        now = path.stat().st_mtime_ns
    except OSError:
        return loaded
    if now != mtime:
        loaded = read(path)
        current_app.extensions[EXTENSION] = (path, now, loaded)
    return loaded


if __name__ == "__main__":  # pragma: no cover - a one-off for a production install
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("instance/signing-key.json")
    create(target)
    print(f"Created {target} (key id {read(target).kid}). Keep it out of the repository.")
