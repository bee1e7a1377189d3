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


class PrivatePostgres:
    """A PostgreSQL server of this test's own (initdb into a temp folder, its own port), so a
    test can stop and start it; never the shared server other tests use."""

    def __init__(self, folder: Path, port: int, bindir: Path):
        self.folder, self.port, self.bindir = folder, port, bindir
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/clerkship"

    def _run(self, program: str, *args: str) -> None:
        import subprocess

        as_postgres = ["/usr/sbin/runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(  # noqa: S603 - fixed PostgreSQL tools on our own folder
            [*as_postgres, str(self.bindir / program), *args],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        self._run(
            "pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-l", log, "-w", "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    import shutil
    import socket

    import pytest

    bindir = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)
    if bindir is None or not (bindir / "initdb").exists():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = Path(tempfile.mkdtemp(prefix="clerkship-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    server = PrivatePostgres(folder, port, bindir)
    try:
        server._run(
            "initdb", "-D", str(folder / "data"), "-A", "trust", "-U", "postgres", "--no-sync"
        )
        server.start()
        admin = sa.create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as connection:
            connection.exec_driver_sql("CREATE DATABASE clerkship")
        admin.dispose()
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
