#!/usr/bin/env python3
"""Prove that a Clerkship database can be backed up and restored: back it up, restore the
backup into a fresh database, and compare the row count of every table.

PostgreSQL: ``pg_dump -Fc`` → a new database (``CREATE DATABASE … TEMPLATE template0``, what
``createdb`` does) → ``pg_restore`` → compare → the new database is dropped. The counts are
taken inside the very snapshot that pg_dump exports (``pg_export_snapshot``), so a live
database gives an exact answer. The restored copy's sequences are also checked to be ahead of
the ids already used, or new rows would collide after a restore.

SQLite: SQLite's online backup API (what ``sqlite3 db ".backup file"`` uses) → restored into
a fresh file with the same API (what ``.restore`` uses) → ``PRAGMA integrity_check`` → compare.

    .venv/bin/python deploy/backup_check.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/clerkship
    .venv/bin/python deploy/backup_check.py --database-url sqlite:////var/lib/clerkship/clerkship.sqlite3

Without ``--database-url`` it checks ``$DATABASE_URL``, else the SQLite file the app would use.
For PostgreSQL the user in the URL must be allowed to create databases (e.g. ``postgres``),
and ``pg_dump``/``pg_restore`` must be on PATH, of the server's major version or newer.

Exit status: 0 every table has the same number of rows; 1 something differs (shown); 2 the
check could not run (the reason is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class CheckFailed(RuntimeError):
    """The check could not be carried out (exit status 2)."""


@dataclass
class Report:
    kind: str
    database: str
    backup_method: str
    restored_into: str
    backup_bytes: int = 0
    source: dict[str, int] = field(default_factory=dict)
    restored: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    kept_backup: str | None = None

    @property
    def differences(self) -> list[str]:
        lines = []
        for table in sorted(self.source.keys() | self.restored.keys()):
            if table not in self.restored:
                lines.append(f"{table}: missing from the restored copy")
            elif table not in self.source:
                lines.append(f"{table}: only in the restored copy")
            elif self.source[table] != self.restored[table]:
                lines.append(
                    f"{table}: {_rows(self.source[table])} in the source, "
                    f"{_rows(self.restored[table])} in the restored copy"
                )
        return lines

    @property
    def ok(self) -> bool:
        return bool(self.source) and not self.differences and not self.problems

    def as_json(self) -> dict:
        tables = sorted(self.source.keys() | self.restored.keys())
        return {
            "ok": self.ok,
            "kind": self.kind,
            "database": self.database,
            "backup_method": self.backup_method,
            "restored_into": self.restored_into,
            "backup_bytes": self.backup_bytes,
            "kept_backup": self.kept_backup,
            "tables": {
                t: {"source": self.source.get(t), "restored": self.restored.get(t)} for t in tables
            },
            "total_rows": {
                "source": sum(self.source.values()),
                "restored": sum(self.restored.values()),
            },
            "differences": self.differences,
            "problems": self.problems,
            "seconds": self.seconds,
        }

    def as_text(self) -> str:
        seconds = self.seconds
        lines = [
            f"Backup check: {self.kind} database {self.database}",
            f"  backup   {self.backup_method}: {_size(self.backup_bytes)} "
            f"in {seconds.get('backup', 0):.2f} s"
            + (f", kept at {self.kept_backup}" if self.kept_backup else " (removed afterwards)"),
            f"  restore  into {self.restored_into} in {seconds.get('restore', 0):.2f} s "
            "(removed afterwards)",
            "",
        ]
        tables = sorted(self.source.keys() | self.restored.keys())
        width = max([len(t) for t in tables] + [len("table"), len("total")])
        lines.append(f"  {'table':<{width}}  {'source':>9}  {'restored':>9}")
        for table in tables:
            source, restored = self.source.get(table), self.restored.get(table)
            mark = "" if source == restored else "   <-- differs"
            lines.append(f"  {table:<{width}}  {_n(source):>9}  {_n(restored):>9}{mark}")
        lines.append(
            f"  {'total':<{width}}  {_n(sum(self.source.values())):>9}  "
            f"{_n(sum(self.restored.values())):>9}"
        )
        lines.append("")
        for problem in self.problems:
            lines.append(f"  problem: {problem}")
        total = seconds.get("total", 0)
        if self.ok:
            lines.append(
                f"OK: {len(tables)} tables, {_n(sum(self.source.values()))} rows; the restored "
                f"copy has exactly the same counts ({total:.2f} s in all)."
            )
        else:
            differences = self.differences
            lines.append(
                f"FAILED: {len(differences)} of {len(tables)} tables differ"
                + (f", {len(self.problems)} other problem(s)" if self.problems else "")
                + f" ({total:.2f} s in all)."
            )
            lines.extend(f"  {line}" for line in differences)
        return "\n".join(lines)


def _rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _size(size: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover


# --- SQLite ------------------------------------------------------------------------------


def _sqlite_tables(connection: sqlite3.Connection) -> list[str]:
    return [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]


def _sqlite_counts(connection: sqlite3.Connection) -> dict[str, int]:
    return {
        table: connection.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0]  # noqa: S608
        for table in _sqlite_tables(connection)
    }


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def check_sqlite(path: Path, keep_backup: Path | None, simulate_loss: str | None) -> Report:
    if not path.is_file():
        raise CheckFailed(f"{path} does not exist (is the URL right?)")
    report = Report(
        kind="sqlite",
        database=str(path),
        backup_method="SQLite online backup API (sqlite3 .backup)",
        restored_into="a fresh file, with the backup API (sqlite3 .restore)",
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="clerkship-backup-check-") as folder:
        backup_path = keep_backup or Path(folder) / "backup.sqlite3"
        if keep_backup and keep_backup.exists():
            keep_backup.unlink()
        source = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            # One read transaction: the counts and the backup see the same moment, even while
            # the app keeps writing (WAL).
            source.execute("BEGIN")
            report.source = _sqlite_counts(source)
            backup = sqlite3.connect(backup_path)
            try:
                source.backup(backup)
            finally:
                backup.close()
            source.execute("COMMIT")
        except sqlite3.Error as error:
            raise CheckFailed(f"backing up {path} failed: {error}") from error
        finally:
            source.close()
        report.seconds["backup"] = time.perf_counter() - started
        report.backup_bytes = backup_path.stat().st_size

        restoring = time.perf_counter()
        restored_path = Path(folder) / "restored.sqlite3"
        backup = sqlite3.connect(backup_path)
        restored = sqlite3.connect(restored_path, isolation_level=None)
        try:
            backup.backup(restored)
            backup.close()
            report.seconds["restore"] = time.perf_counter() - restoring
            if simulate_loss:
                _lose_a_row_sqlite(restored, simulate_loss)
            verdict = [row[0] for row in restored.execute("PRAGMA integrity_check")]
            if verdict != ["ok"]:
                report.problems.append("integrity_check: " + "; ".join(verdict[:10]))
            report.restored = _sqlite_counts(restored)
        except sqlite3.Error as error:
            raise CheckFailed(f"restoring the backup failed: {error}") from error
        finally:
            restored.close()
        if keep_backup:
            report.kept_backup = str(keep_backup)
    report.seconds["total"] = time.perf_counter() - started
    return report


def _lose_a_row_sqlite(connection: sqlite3.Connection, table: str) -> None:
    if table not in _sqlite_tables(connection):
        raise CheckFailed(f"--simulate-loss: no table {table!r}")
    deleted = connection.execute(
        f"DELETE FROM {_quote(table)} WHERE rowid = (SELECT min(rowid) FROM {_quote(table)})"  # noqa: S608
    ).rowcount
    if not deleted:
        raise CheckFailed(f"--simulate-loss: {table} has no rows to lose")


# --- PostgreSQL --------------------------------------------------------------------------

# Connection settings a URL may carry in its query string, as libpq's environment variables
# (the command-line tools read them; a password never appears on a command line).
_LIBPQ_QUERY = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "service": "PGSERVICE",
}


def _libpq_environment(url) -> dict[str, str]:
    env = dict(os.environ)
    for key, name in _LIBPQ_QUERY.items():
        value = url.query.get(key)
        if value:
            env[name] = value if isinstance(value, str) else value[-1]
    if url.host:
        env["PGHOST"] = url.host
    if url.port:
        env["PGPORT"] = str(url.port)
    if url.username:
        env["PGUSER"] = url.username
    if url.password:
        env["PGPASSWORD"] = url.password
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise CheckFailed(f"{name} is not on PATH (Debian: apt-get install postgresql-client)")
    return path


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise CheckFailed(
            f"{Path(command[0]).name} failed (exit {result.returncode}):\n"
            + (result.stderr.strip() or result.stdout.strip())
        )


def _pg_tables(connection) -> list[tuple[str, str]]:
    rows = connection.exec_driver_sql(
        "SELECT schemaname, tablename FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
    )
    return [(schema, table) for schema, table in rows]


def _pg_name(schema: str, table: str) -> str:
    return table if schema == "public" else f"{schema}.{table}"


def _pg_counts(connection) -> dict[str, int]:
    quote = connection.dialect.identifier_preparer.quote
    return {
        _pg_name(schema, table): connection.exec_driver_sql(
            f"SELECT count(*) FROM {quote(schema)}.{quote(table)}"  # noqa: S608
        ).scalar_one()
        for schema, table in _pg_tables(connection)
    }


def _pg_sequence_problems(connection) -> list[str]:
    """Sequences behind their column's largest id: the next insert would collide."""
    quote = connection.dialect.identifier_preparer.quote
    problems = []
    columns = connection.exec_driver_sql(
        "SELECT table_schema, table_name, column_name, "
        "pg_get_serial_sequence(quote_ident(table_schema) || '.' || quote_ident(table_name), "
        "column_name) FROM information_schema.columns "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3"
    ).all()
    for schema, table, column, sequence in columns:
        if sequence is None:
            continue
        last_value, is_called = connection.exec_driver_sql(
            f"SELECT last_value, is_called FROM {sequence}"  # noqa: S608 (from the catalogue)
        ).one()
        largest = connection.exec_driver_sql(
            f"SELECT max({quote(column)}) FROM {quote(schema)}.{quote(table)}"  # noqa: S608
        ).scalar_one()
        next_value = last_value + 1 if is_called else last_value
        if largest is not None and largest >= next_value:
            problems.append(
                f"sequence {sequence} would hand out {next_value}, but "
                f"{_pg_name(schema, table)}.{column} already has {largest}"
            )
    return problems


def check_postgresql(url, keep_backup: Path | None, simulate_loss: str | None) -> Report:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    pg_dump, pg_restore = _tool("pg_dump"), _tool("pg_restore")
    source_name = url.database
    if not source_name:
        raise CheckFailed("the URL names no database")
    env = _libpq_environment(url)
    where = env.get("PGHOST", "localhost") + (":" + env["PGPORT"] if env.get("PGPORT") else "")
    fresh_name = f"{source_name[:40]}_restorecheck_{secrets.token_hex(4)}"
    report = Report(
        kind="postgresql",
        database=f"{source_name} on {where}",
        backup_method="pg_dump -Fc",
        restored_into=f"new database {fresh_name} (pg_restore)",
    )
    engine = sa.create_engine(url, poolclass=NullPool)
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    started = time.perf_counter()
    created = False
    try:
        with tempfile.TemporaryDirectory(prefix="clerkship-backup-check-") as folder:
            dump = keep_backup or Path(folder) / "backup.dump"
            # The counts and the dump share one snapshot: exact even while people work.
            with engine.connect().execution_options(
                isolation_level="REPEATABLE READ"
            ) as connection:
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
                report.source = _pg_counts(connection)
                _run(
                    [
                        pg_dump,
                        "--format=custom",
                        f"--snapshot={snapshot}",
                        f"--file={dump}",
                        f"--dbname={source_name}",
                    ],
                    env,
                )
                connection.rollback()
            report.seconds["backup"] = time.perf_counter() - started
            report.backup_bytes = dump.stat().st_size

            restoring = time.perf_counter()
            try:
                with admin.connect() as connection:
                    connection.exec_driver_sql(
                        f'CREATE DATABASE "{fresh_name}" TEMPLATE template0'
                    )
            except sa.exc.ProgrammingError as error:
                raise CheckFailed(
                    f"{url.username or 'this user'} may not create the database to restore "
                    "into; run the check as a user who may (e.g. postgres):\n"
                    f"{error.orig}"
                ) from error
            created = True
            _run(
                [
                    pg_restore,
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    f"--dbname={fresh_name}",
                    str(dump),
                ],
                env,
            )
            report.seconds["restore"] = time.perf_counter() - restoring
            if keep_backup:
                report.kept_backup = str(keep_backup)

        fresh = sa.create_engine(url.set(database=fresh_name), poolclass=NullPool)
        try:
            with fresh.begin() as connection:
                if simulate_loss:
                    _lose_a_row_postgresql(connection, simulate_loss)
            with fresh.connect() as connection:
                report.restored = _pg_counts(connection)
                report.problems.extend(_pg_sequence_problems(connection))
        finally:
            fresh.dispose()
    except sa.exc.SQLAlchemyError as error:
        raise CheckFailed(f"database error: {error}") from error
    finally:
        if created:
            with admin.connect() as connection:
                force = " WITH (FORCE)" if connection.dialect.server_version_info >= (13,) else ""
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{fresh_name}"{force}')
        engine.dispose()
    report.seconds["total"] = time.perf_counter() - started
    return report


def _lose_a_row_postgresql(connection, table: str) -> None:
    names = {_pg_name(s, t): (s, t) for s, t in _pg_tables(connection)}
    if table not in names:
        raise CheckFailed(f"--simulate-loss: no table {table!r}")
    quote = connection.dialect.identifier_preparer.quote
    qualified = ".".join(quote(part) for part in names[table])
    deleted = connection.exec_driver_sql(
        f"DELETE FROM {qualified} WHERE ctid = (SELECT ctid FROM {qualified} LIMIT 1)"  # noqa: S608
    ).rowcount
    if not deleted:
        raise CheckFailed(f"--simulate-loss: {table} has no rows to lose")


# --- command line ------------------------------------------------------------------------


def default_database_url() -> str:
    """What the app would use: DATABASE_URL, else the SQLite file in the instance folder."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    instance = Path(os.environ.get("CLERKSHIP_INSTANCE_PATH") or ROOT / "instance")
    return "sqlite:///" + str(instance / "clerkship.sqlite3")


def check(database_url: str, keep_backup: Path | None = None, simulate_loss: str | None = None):
    from sqlalchemy.engine import make_url

    if database_url.startswith(("postgres://", "postgresql://")):
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise CheckFailed("an in-memory SQLite database has nothing to back up")
        return check_sqlite(Path(url.database), keep_backup, simulate_loss)
    if url.get_backend_name() == "postgresql":
        return check_postgresql(url, keep_backup, simulate_loss)
    raise CheckFailed(f"unsupported database {url.get_backend_name()!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Back up a Clerkship database, restore it into a fresh one and compare "
        "the row counts of every table.",
    )
    parser.add_argument(
        "--database-url",
        help="the database to check (default: $DATABASE_URL, else the app's SQLite file)",
    )
    parser.add_argument(
        "--keep-backup",
        type=Path,
        metavar="FILE",
        help="also keep the backup it made (pg_dump -Fc file, or a SQLite file) at FILE",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--simulate-loss",
        metavar="TABLE",
        help="delete one row of TABLE from the restored copy before comparing, to see the "
        "check fail (testing the check itself; the source is never touched)",
    )
    args = parser.parse_args(argv)
    database_url = args.database_url or default_database_url()
    try:
        report = check(database_url, args.keep_backup, args.simulate_loss)
    except CheckFailed as failure:
        if args.json:
            print(json.dumps({"ok": False, "error": str(failure)}, indent=2))
        else:
            print(f"Backup check could not run: {failure}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_json(), indent=2) if args.json else report.as_text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
