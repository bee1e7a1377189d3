"""Fixtures in the house shape: app, db (one rolled-back transaction per test), client,
make_user, role fixtures, login(), count_queries."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from werkzeug.serving import make_server

from clerkship import clock, create_app, pdf_signing, signing_keys
from clerkship.auth.passwords import set_password
from clerkship.extensions import db as _db
from clerkship.extensions import limiter
from clerkship.models import (
    Assignment,
    Cohort,
    Enrollment,
    PanelEntry,
    Program,
    Role,
    User,
)
from clerkship.sso.saml import write_key_pair as write_saml_key_pair
from tests.databases import fresh_database

TEST_PASSWORD = "correct horse battery staple"

# The task queue is chosen when clerkship.tasks is first imported (by create_app): keep the
# suite's queue file and export files out of the checkout. REDIS_URL, when set, puts the
# queue in Redis instead.
SCRATCH = tempfile.mkdtemp(prefix="clerkship-tests-")
os.environ.setdefault("CLERKSHIP_QUEUE_PATH", os.path.join(SCRATCH, "queue.sqlite3"))
# Workers the suite starts look for dead workers' leases every 5 s, not every minute: the
# fault tests wait for the reaper after each kill (config.EXPORT_REAP_SECONDS).
os.environ.setdefault("CLERKSHIP_EXPORT_REAP_SECONDS", "5")
EXPORT_DIR = os.path.join(SCRATCH, "exports")
# One program key for the whole run (and the worker processes it starts), made up front so
# that apps built in production mode find it too.
SIGNING_KEY_FILE = os.path.join(SCRATCH, "signing-key.json")
signing_keys.create(Path(SIGNING_KEY_FILE))
PDF_SIGNING_CERT = os.path.join(SCRATCH, "pdf-signing-cert.pem")
PDF_SIGNING_KEY = os.path.join(SCRATCH, "pdf-signing-key.pem")
pdf_signing.create_self_signed(Path(PDF_SIGNING_CERT), Path(PDF_SIGNING_KEY), "Test School")
# The SAML service provider's key pair (clerkship.sso.saml), outside the checkout.
SAML_SP_KEY = os.path.join(SCRATCH, "saml-sp-key.pem")
SAML_SP_CERT = os.path.join(SCRATCH, "saml-sp-cert.pem")
write_saml_key_pair(Path(SAML_SP_KEY), Path(SAML_SP_CERT), "Clerkship test SP")
# What a process started by the suite (export workers, gunicorn) needs to sign like it.
SIGNING_ENVIRONMENT = {
    "CLERKSHIP_SIGNING_KEY_FILE": SIGNING_KEY_FILE,
    "CLERKSHIP_PDF_SIGNING_CERT": PDF_SIGNING_CERT,
    "CLERKSHIP_PDF_SIGNING_KEY": PDF_SIGNING_KEY,
}


def test_config(database_url: str, **overrides) -> dict:
    config = {
        "ENV": "testing",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        # Cheap hashes: argon2's real cost would make the suite minutes slower.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "ARGON2_PARALLELISM": 1,
        "SERVER_NAME": None,
        "MAIL_BACKEND": "memory",
        "EXPORT_DIR": EXPORT_DIR,
        "SIGNING_KEY_FILE": SIGNING_KEY_FILE,
        "PDF_SIGNING_CERT": PDF_SIGNING_CERT,
        "PDF_SIGNING_KEY": PDF_SIGNING_KEY,
        "SAML_SP_KEY": SAML_SP_KEY,
        "SAML_SP_CERT": SAML_SP_CERT,
    }
    if os.environ.get("REDIS_URL"):
        config["RATELIMIT_STORAGE_URI"] = os.environ["REDIS_URL"]
        config["RATELIMIT_KEY_PREFIX"] = "clerkship-test"
    config.update(overrides)
    return config


test_config.__test__ = False  # a helper, not a test, when imported into test modules


@pytest.fixture(scope="session")
def database_url():
    with fresh_database("suite") as url:
        yield url


class IsolatedClient(FlaskClient):
    """Each request runs in its own application context, as in production.

    Without this, Flask reuses the test's app context for requests, so ``g`` (and
    Flask-Login's cached user) and the SQLAlchemy session would leak between requests.
    """

    def open(self, *args, **kwargs):
        _with_submission_token(kwargs)
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _with_submission_token(kwargs) -> None:
    """Form posts carry a fresh double-submit token, as every create form in a browser does
    (clerkship.submissions refuses a create form without one). A test of that refusal sends
    ``submission=None``, which drops it; a test of the repeat sends its own token."""
    if kwargs.get("method", "GET") != "POST" or "json" in kwargs:
        return
    data = kwargs.get("data")
    if data is None and "input_stream" not in kwargs:
        data = kwargs["data"] = {}
    if isinstance(data, dict):  # a copy: a test may send the same dict twice on purpose
        if "submission" not in data:
            kwargs["data"] = {**data, "submission": secrets.token_urlsafe(24)}
        elif data["submission"] is None:
            kwargs["data"] = {k: v for k, v in data.items() if k != "submission"}


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(test_config(database_url))
    app.test_client_class = IsolatedClient
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@contextlib.contextmanager
def demo_year_app(label: str, students: int) -> Iterator[Flask]:
    """An app on a database of its own holding a demo year, built once.

    For a module's ``app`` fixture (``scope="module"``): the demo year is the expensive part,
    and the ``db`` fixture rolls each test back to it, so every test starts from the same year.
    """
    from clerkship import demo

    with fresh_database(label) as url:
        app = create_app(test_config(url))
        app.test_client_class = IsolatedClient
        with app.app_context():
            flask_migrate.upgrade()
            demo.build_demo_year(students=students)
            _db.session.commit()
        try:
            yield app
        finally:
            with app.app_context():
                _db.session.remove()
                _db.engine.dispose()


@contextlib.contextmanager
def serving(app: Flask, *, threaded: bool = True) -> Iterator[str]:
    """``app`` served by werkzeug on a loopback port of its own (port 0: the system picks a
    free one), in a thread, until the block ends; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=threaded)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def people_by_name() -> dict[str, User]:
    """The demo year's people by the name part of their address (``student01`` …)."""
    users = _db.session.scalars(select(User).where(User.email.is_not(None)))
    return {user.email.split("@")[0]: user for user in users}


@pytest.fixture
def db(app):
    """The database inside one transaction that is rolled back after the test.

    Application code may commit freely: with ``join_transaction_mode="create_savepoint"`` its
    commits release savepoints inside our outer transaction (SQLAlchemy 2's recipe for
    joining a session into an external transaction).
    """
    with app.app_context():
        engine = _db.engine
        connection = engine.connect()
        outer = connection.begin()
        engines = _db.engines
        engines[None] = connection
        original_session = _db.session
        _db.session = _db._make_scoped_session({"join_transaction_mode": "create_savepoint"})
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original_session
            engines[None] = engine
            outer.rollback()
            connection.close()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app):
    with app.app_context():
        limiter.reset()


@pytest.fixture(autouse=True)
def _empty_outbox(app):
    """Each test starts with no e-mails (addresses repeat between tests)."""
    app.extensions["mail_outbox"] = []


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def make_user(db):
    counter = iter(range(1, 10_000))

    def make(role: Role | str = Role.STUDENT, *, password: str | None = TEST_PASSWORD, **fields):
        role = Role(role)
        n = next(counter)
        fields.setdefault("email", f"{role.value}{n}@example.org")
        fields.setdefault("name", f"{role.value.title()} {n}")
        user = User(role=role, **fields)
        if password:
            set_password(user, password)
        db.session.add(user)
        db.session.flush()
        return user

    return make


@pytest.fixture
def student(make_user):
    return make_user(Role.STUDENT)


@pytest.fixture
def preceptor(make_user):
    return make_user(Role.PRECEPTOR)


@pytest.fixture
def patient(make_user):
    return make_user(Role.PATIENT)


@pytest.fixture
def director(make_user):
    return make_user(Role.DIRECTOR)


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN)


def login(client, user: User, password: str = TEST_PASSWORD):
    """Sign in through the real form, as a person would."""
    response = client.post("/sign-in", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def world(db, make_user):
    """One program as DESIGN.md sees it: a director, a student with a preceptor and a panel
    patient — and a second program whose people must stay invisible to the first."""
    today = clock.today()

    def program(slug: str):
        p = Program(name=f"Program {slug}", slug=slug, institution="Test School")
        db.session.add(p)
        director = make_user(Role.DIRECTOR)
        p.directors.append(director)
        cohort = Cohort(
            program=p,
            name="2026–27",
            start_date=today - timedelta(days=90),
            end_date=today + timedelta(days=270),
        )
        db.session.add(cohort)
        student = make_user(Role.STUDENT)
        preceptor = make_user(Role.PRECEPTOR)
        patient = make_user(Role.PATIENT)
        db.session.add_all([p, cohort])
        db.session.flush()
        db.session.add_all(
            [
                Enrollment(cohort_id=cohort.id, student_id=student.id),
                Assignment(
                    cohort_id=cohort.id,
                    student_id=student.id,
                    preceptor_id=preceptor.id,
                    discipline="Family medicine",
                    start_date=today - timedelta(days=60),
                ),
                PanelEntry(
                    cohort_id=cohort.id,
                    student_id=student.id,
                    patient_id=patient.id,
                    consent_date=today - timedelta(days=30),
                ),
            ]
        )
        db.session.flush()
        return {
            "program": p,
            "cohort": cohort,
            "director": director,
            "student": student,
            "preceptor": preceptor,
            "patient": patient,
        }

    mine = program("mine")
    other = program("other")
    admin = make_user(Role.ADMIN)
    db.session.commit()
    return {"mine": mine, "other": other, "admin": admin}


@pytest.fixture
def count_queries(app, db):
    """Count SQL statements run inside the ``with`` block: ``with count_queries() as n: ...``."""
    import contextlib

    @contextlib.contextmanager
    def counter():
        statements: list[str] = []

        def before(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                statements.append(statement)

        engine = _db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counter


@pytest.fixture
def make_goal(db):
    """A goal made through the services, as a student would: drafted, then shared."""
    from clerkship.goals import service

    def make(student, *, title="Lead a family meeting", share_with=(), **text):
        goal = service.create_goal(student, service.GoalText(title=title, **text), [])
        if share_with:
            service.share_goal(student, goal, list(share_with))
        db.session.commit()
        return goal

    return make
