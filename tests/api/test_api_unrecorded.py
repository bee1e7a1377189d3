"""A use of a token that cannot be audited is not answered, and the API says so in its own
JSON error format (a program reads the answer, not a person): never the pages' HTML."""

from __future__ import annotations

import sqlite3

import flask_migrate
import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from clerkship import create_app
from clerkship.api import tokens
from clerkship.extensions import db
from clerkship.models import ApiToken, AuditEvent, Program, Role, User
from tests.api.conftest import bearer
from tests.conftest import IsolatedClient, test_config
from tests.databases import fresh_database

LOCK_WAIT_MS = 300


@pytest.fixture
def app():
    with fresh_database("apiaudit") as url:
        if url.startswith("sqlite:///"):
            app = create_app(test_config(url, SQLITE_BUSY_TIMEOUT_MS=LOCK_WAIT_MS))
        else:  # the app's connections give up on a row lock as SQLite's busy time-out does
            waiting = {"options": f"-c lock_timeout={LOCK_WAIT_MS}"}
            waiting_url = make_url(url).update_query_dict(waiting)
            app = create_app(test_config(waiting_url.render_as_string(hide_password=False)))
        app.test_client_class = IsolatedClient
        with app.app_context():
            flask_migrate.upgrade()
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _token(app) -> tuple[int, str]:
    with app.app_context():
        program = Program(name="Program", slug="p", institution="Test School")
        director = User(email="director@example.org", name="Dee Director", role=Role.DIRECTOR)
        program.directors.append(director)
        db.session.add_all([program, director])
        db.session.flush()
        token, secret = tokens.create_token(director, program, "Dashboard", 30)
        db.session.commit()
        token_id = token.id
        db.session.remove()
    return token_id, secret


def _uses(app) -> int:
    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "api_token.used")
        )
        db.session.remove()
        return count


def test_an_unrecorded_use_answers_the_apis_json_error(app):
    token_id, secret = _token(app)
    client = app.test_client()
    assert client.get("/api/v1/cohorts", headers=bearer(secret)).status_code == 200
    assert _uses(app) == 1
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # SQLite's one write lock, held past the time-out
        release = holder.close
    else:
        engine = sa.create_engine(url)
        holder = engine.connect()
        # The token's row, locked: its last use cannot be noted, nor the use recorded.
        holder.execute(select(ApiToken).where(ApiToken.id == token_id).with_for_update())

        def release() -> None:
            holder.close()
            engine.dispose()

    try:
        answer = client.get("/api/v1/cohorts", headers=bearer(secret))
    finally:
        release()
    assert answer.status_code == 503
    assert answer.mimetype == "application/json"
    body = answer.get_json()
    assert body["code"] == 503 and body["status"] == "Service Unavailable"
    assert "busy or unavailable" in body["message"]
    assert "items" not in body  # nothing of what was asked for
    assert answer.headers["Retry-After"]
    assert _uses(app) == 1
    assert client.get("/api/v1/cohorts", headers=bearer(secret)).status_code == 200
    assert _uses(app) == 2
