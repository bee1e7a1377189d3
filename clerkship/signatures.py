"""Canonical JSON (sorted keys, no insignificant whitespace, UTF-8) and its SHA-256.

The same content always serialises to the same bytes, so it can be hashed (document
fingerprints, the signature chain) and signed (:mod:`clerkship.signed_content`). A bare hash
is no signature: anyone who can change the content can recompute it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any


def _default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot sign a {type(value).__name__}")


def canonical(content: dict) -> bytes:
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    ).encode("utf-8")


def content_hash(content: dict) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()
