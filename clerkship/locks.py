"""Run a periodic task once across machines: a PostgreSQL advisory lock per task name.

The lock belongs to a database connection, so a worker killed while holding it (SIGKILL, a
machine lost) releases it with its connection: no stale lock ever blocks the next run. With
SQLite (one machine, one consumer) there is nothing to coordinate and the task just runs.
Tasks stay safe to run twice regardless (the reaper is idempotent; digests have a unique key).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

from sqlalchemy import text

from clerkship.extensions import db


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def held(name: str) -> Iterator[bool]:
    """``True`` if this process may run ``name`` now; ``False`` if another one is running it."""
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    key = _key(name)
    with db.engine.connect() as connection:
        got = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
        connection.commit()
        try:
            yield got
        finally:
            if got:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
