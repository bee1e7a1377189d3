"""Throw-away databases for tests that need a whole database of their own.

SQLite: a file in a temporary folder. PostgreSQL (``TEST_DATABASE_URL`` set): a new database
on that server, created and dropped around the test, so runs never trample each other.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def server_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if url and url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def kind() -> str:
    return "postgresql" if server_url() else "sqlite"


@contextlib.contextmanager
def fresh_database(label: str = "t") -> Iterator[str]:
    url = server_url()
    if url is None:
        with tempfile.TemporaryDirectory(prefix=f"clerkship-{label}-") as folder:
            yield "sqlite:///" + str(Path(folder) / "db.sqlite3")
        return
    name = f"clerkship_{label}_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
