"""deploy/backup_check.py end to end: a small demo year is backed up, restored into a fresh
database and counted table by table — on SQLite always, on PostgreSQL when the suite runs
there (TEST_DATABASE_URL). The check must also be able to fail."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa

from clerkship import create_app, demo
from clerkship.extensions import db as _db
from tests import databases
from tests.conftest import test_config

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "deploy" / "backup_check.py"
# Tables the demo year is sure to fill: people, goals, signatures, patients' voices.
FILLED = ("user", "learning_goal", "goal_version", "signature", "patient_feedback", "audit_event")

postgresql_only = pytest.mark.skipif(
    databases.kind() != "postgresql", reason="runs when TEST_DATABASE_URL is PostgreSQL"
)


def build_demo_year(url: str) -> set[str]:
    """Migrate ``url`` and put a two-student demo year in it; the tables it has."""
    app = create_app(test_config(url))
    with app.app_context():
        flask_migrate.upgrade()
        demo.build_demo_year(students=2)
        _db.session.commit()
        tables = set(sa.inspect(_db.engine).get_table_names())
        _db.session.remove()
        _db.engine.dispose()
    return tables


def run_check(url: str, *args: str) -> tuple[int, dict | str]:
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(SCRIPT), "--database-url", url, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    if "--json" in args:
        return result.returncode, json.loads(result.stdout)
    return result.returncode, output


def assert_identical(report: dict, tables: set[str]) -> None:
    assert report["ok"] is True, report
    assert set(report["tables"]) == tables  # every table, alembic_version included
    for name, counts in report["tables"].items():
        assert counts["source"] == counts["restored"], name
    for name in FILLED:
        assert report["tables"][name]["source"] > 0, name
    assert report["total_rows"]["source"] == report["total_rows"]["restored"] > 100
    assert report["differences"] == [] and report["problems"] == []
    assert report["backup_bytes"] > 0


@pytest.fixture(scope="module")
def sqlite_demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("backup-check") / "demo.sqlite3"
    url = f"sqlite:///{path}"
    return url, build_demo_year(url)


@pytest.fixture(scope="module")
def postgresql_demo():
    if databases.kind() != "postgresql":
        pytest.skip("runs when TEST_DATABASE_URL is PostgreSQL")
    # A database of its own on that server, dropped afterwards: never the suite's database.
    with databases.fresh_database("backup") as url:
        yield url, build_demo_year(url)


def test_sqlite_backup_restores_every_row(sqlite_demo, tmp_path):
    url, tables = sqlite_demo
    kept = tmp_path / "kept.sqlite3"
    status, report = run_check(url, "--json", "--keep-backup", str(kept))
    assert status == 0, report
    assert_identical(report, tables)
    assert report["kind"] == "sqlite"
    # The kept backup is a database in its own right, with the same rows.
    with sa.create_engine(f"sqlite:///{kept}").connect() as connection:
        users = connection.exec_driver_sql('SELECT count(*) FROM "user"').scalar_one()
    assert users == report["tables"]["user"]["source"]


def test_sqlite_report_is_readable(sqlite_demo):
    url, tables = sqlite_demo
    status, output = run_check(url)
    assert status == 0, output
    assert f"OK: {len(tables)} tables" in output
    assert "differs" not in output


def test_sqlite_lost_row_fails_the_check(sqlite_demo):
    url, _ = sqlite_demo
    status, output = run_check(url, "--simulate-loss", "audit_event")
    assert status == 1, output
    assert "FAILED: 1 of" in output
    assert "audit_event: " in output and "in the restored copy" in output
    assert "<-- differs" in output
    # The source was never touched: the next check passes.
    assert run_check(url)[0] == 0


def test_missing_database_cannot_be_checked(tmp_path):
    status, output = run_check(f"sqlite:///{tmp_path / 'nothing-here.sqlite3'}")
    assert status == 2
    assert "does not exist" in output
    assert not (tmp_path / "nothing-here.sqlite3").exists()  # no empty file left behind


def _restore_check_databases(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                (f"{sa.engine.make_url(url).database}_restorecheck_%",),
            ).all()
    finally:
        engine.dispose()


@postgresql_only
def test_postgresql_backup_restores_every_row(postgresql_demo, tmp_path):
    url, tables = postgresql_demo
    kept = tmp_path / "kept.dump"
    status, report = run_check(url, "--json", "--keep-backup", str(kept))
    assert status == 0, report
    assert_identical(report, tables)
    assert report["kind"] == "postgresql"
    assert kept.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
    assert _restore_check_databases(url) == []  # the restored copy was dropped


@postgresql_only
def test_postgresql_lost_row_fails_the_check(postgresql_demo):
    url, _ = postgresql_demo
    status, report = run_check(url, "--json", "--simulate-loss", "audit_event")
    assert status == 1, report
    assert report["ok"] is False
    assert len(report["differences"]) == 1
    assert report["differences"][0].startswith("audit_event: ")
    counts = report["tables"]["audit_event"]
    assert counts["restored"] == counts["source"] - 1
    assert _restore_check_databases(url) == []


def _load_script(monkeypatch):
    spec = importlib.util.spec_from_file_location("backup_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@postgresql_only
def test_postgresql_sequence_behind_its_ids_is_reported(monkeypatch):
    backup_check = _load_script(monkeypatch)
    with databases.fresh_database("sequence") as url:
        engine = sa.create_engine(url)
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql("CREATE TABLE thing (id serial PRIMARY KEY)")
                connection.exec_driver_sql("INSERT INTO thing DEFAULT VALUES")
                connection.exec_driver_sql("INSERT INTO thing DEFAULT VALUES")
                assert backup_check._pg_sequence_problems(connection) == []
                connection.exec_driver_sql("SELECT setval('thing_id_seq', 1)")
                problems = backup_check._pg_sequence_problems(connection)
        finally:
            engine.dispose()
    assert problems == [
        "sequence public.thing_id_seq would hand out 2, but thing.id already has 2"
    ]
