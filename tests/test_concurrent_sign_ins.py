"""50 people sign in at the same moment and open their home page: every one gets in.

On SQLite, the embedded default, all writers share one lock. A sign-in used to take it with its
first query and keep it through the password hash (~0.2 s of CPU with the real argon2id cost),
so 50 sign-ins queued for many seconds and the last ones gave up with "database is locked"
(a 503, or a 500 before that had its own page). Now the hash runs holding no lock, pages
read without it, and the lock is held only while rows are written: waiting is the worst case.

Load-independent check first: no password hash runs while its request holds a database
transaction (on the old code every one did, under SQLite's write lock). Then the outcome:
everyone gets in, with the deployment's default lock time-out; on a quiet 2-core box the old
code already lost 10 of 50 sign-ins to a 5 s time-out. Runs on PostgreSQL too, where nothing
queues, as a check that the same journey holds there.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import flask_migrate
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from clerkship import create_app
from clerkship.auth.passwords import set_password
from clerkship.extensions import db
from clerkship.models import AuditEvent, Role, SignInSession, User
from tests.conftest import TEST_PASSWORD, IsolatedClient, test_config
from tests.databases import fresh_database

PEOPLE = 50


@pytest.fixture(scope="module")
def app():
    with fresh_database("signins") as url:
        app = create_app(
            test_config(
                url,
                # A real hash, ~0.1 s like production's on a quiet 2-core box, with less
                # memory (50 at once).
                ARGON2_TIME_COST=8,
                ARGON2_MEMORY_COST=8192,
                ARGON2_PARALLELISM=1,
            )
        )
        app.test_client_class = IsolatedClient
        with app.app_context():
            flask_migrate.upgrade()
            hashed = None
            for number in range(PEOPLE):
                user = User(
                    email=f"student{number:02d}@example.org",
                    name=f"Student {number:02d}",
                    role=Role.STUDENT,
                )
                if hashed is None:
                    set_password(user, TEST_PASSWORD)
                    hashed = user.password_hash
                user.password_hash = hashed  # the same hash: one ~0.1 s hash, not 50
                db.session.add(user)
            db.session.commit()
            db.session.remove()
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _sign_in_and_open_home(app, email: str, start: threading.Barrier, results: dict) -> None:
    client = app.test_client()
    start.wait()
    began = time.perf_counter()
    try:
        signed_in = client.post("/sign-in", data={"email": email, "password": TEST_PASSWORD})
        home = client.get("/")
        results[email] = (signed_in.status_code, home.status_code, time.perf_counter() - began)
    except Exception as error:  # an exception the app let through is a 500 for the person
        results[email] = (repr(error), None, time.perf_counter() - began)


def test_fifty_people_signing_in_at_once_all_get_in(app, monkeypatch):
    held_during_hash: list[bool] = []
    verify = PasswordHasher.verify

    def watched(self, hashed, password):
        held_during_hash.append(db.session().in_transaction())
        return verify(self, hashed, password)

    monkeypatch.setattr(PasswordHasher, "verify", watched)
    results: dict = {}
    start = threading.Barrier(PEOPLE)
    threads = [
        threading.Thread(
            target=_sign_in_and_open_home,
            args=(app, f"student{number:02d}@example.org", start, results),
        )
        for number in range(PEOPLE)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    failed = {email: r for email, r in results.items() if r[:2] != (302, 200)}
    assert len(held_during_hash) == PEOPLE
    assert not any(held_during_hash), "a password was hashed inside a database transaction"
    assert len(results) == PEOPLE
    assert failed == {}, f"{len(failed)} of {PEOPLE} did not get in: {failed}"
    with app.app_context():
        # Each sign-in wrote its session row and its audit event, once.
        assert db.session.scalar(select(func.count()).select_from(SignInSession)) == PEOPLE
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "auth.sign_in")
            )
            == PEOPLE
        )
        db.session.remove()


def test_a_page_reads_while_another_connection_holds_the_write_lock(app):
    """A page takes no write lock (WAL readers never wait): it answers while a long write
    (an export worker's, an import's) holds SQLite's lock. It used to wait for the lock and,
    after the time-out, answer 503."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        pytest.skip("SQLite's database-wide write lock")
    client = app.test_client()
    signed_in = client.post(
        "/sign-in", data={"email": "student00@example.org", "password": TEST_PASSWORD}
    )
    assert signed_in.status_code == 302
    writer = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        page = client.get("/")  # before: a wait for the lock, then 503
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert page.status_code == 200
    assert "Student 00" in page.text


def test_a_page_whose_reading_cannot_be_recorded_is_not_shown():
    """Reading the audit log is itself audited, just after the page (which takes no write
    lock). When that record cannot be written (the lock held past the time-out), the reader
    gets the "busy" page, not the log: nobody sees what their reading left no trace of."""
    with fresh_database("unrecorded") as url:
        if not url.startswith("sqlite:///"):
            pytest.skip("SQLite's database-wide write lock")
        app = create_app(test_config(url, SQLITE_BUSY_TIMEOUT_MS=300))
        app.test_client_class = IsolatedClient
        with app.app_context():
            flask_migrate.upgrade()
            admin = User(email="admin@example.org", name="Ada Admin", role=Role.ADMIN)
            set_password(admin, TEST_PASSWORD)
            db.session.add(admin)
            db.session.commit()
            db.session.remove()

        def readings() -> int:
            with app.app_context():
                count = db.session.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.action == "audit.viewed")
                )
                db.session.remove()
                return count

        client = app.test_client()
        signed_in = client.post(
            "/sign-in", data={"email": "admin@example.org", "password": TEST_PASSWORD}
        )
        assert signed_in.status_code == 302
        assert client.get("/audit/").status_code == 200
        assert readings() == 1
        writer = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            page = client.get("/audit/")
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        assert page.status_code == 503
        assert "busy or unavailable" in page.text
        assert "audit.viewed" not in page.text
        assert readings() == 1
        assert client.get("/audit/").status_code == 200  # the lock gone: shown, and recorded
        assert readings() == 2
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("change", ["password", "deactivated"])
def test_an_account_changed_during_the_hash_is_not_signed_in(app, monkeypatch, change):
    """The hash runs outside any transaction (above), so the account may change meanwhile
    (the password reset from another device, the account deactivated by an admin): the
    sign-in reads it again in its write transaction and refuses, and the new password stays."""
    email = f"changed-{change}@example.org"
    with app.app_context():
        user = User(email=email, name="Changed Meanwhile", role=Role.STUDENT)
        set_password(user, TEST_PASSWORD)
        db.session.add(user)
        db.session.commit()
        user_id = user.id
        db.session.remove()
        newer = User(email="scratch@example.org")
        set_password(newer, "a different passphrase entirely")
    verify = PasswordHasher.verify

    def changed_by_another_connection(self, hashed, password):
        with db.engine.begin() as other:  # its own connection, committed at once
            values = {"password_hash": newer.password_hash} if change == "password" else {}
            values |= {"active": False} if change == "deactivated" else {}
            other.execute(User.__table__.update().where(User.id == user_id).values(**values))
        return verify(self, hashed, password)

    monkeypatch.setattr(PasswordHasher, "verify", changed_by_another_connection)
    answer = app.test_client().post("/sign-in", data={"email": email, "password": TEST_PASSWORD})
    monkeypatch.undo()
    assert answer.status_code != 302, "signed in with what the account no longer allows"
    with app.app_context():
        if change == "password":  # not overwritten by a re-hash of the old password
            assert db.session.get(User, user_id).password_hash == newer.password_hash
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(SignInSession)
                .where(SignInSession.user_id == user_id)
            )
            == 0
        )
        db.session.remove()
