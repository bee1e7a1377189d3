"""Redis unreachable (a real client on a closed port): the rate limiter counts in memory,
says so in the log, and sign-in and pages keep working."""

from __future__ import annotations

import logging

import flask_migrate

from clerkship import create_app
from clerkship.auth.passwords import set_password
from clerkship.extensions import db as _db
from clerkship.models import Role, User
from tests.conftest import TEST_PASSWORD, IsolatedClient, test_config
from tests.databases import fresh_database

UNREACHABLE_REDIS = "redis://127.0.0.1:9/0?socket_connect_timeout=1"


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_sign_in_and_pages_work_with_redis_unreachable():
    said = Collect()
    logging.getLogger("flask-limiter").addHandler(said)
    with fresh_database("limiter") as url:
        try:
            app = create_app(test_config(url, RATELIMIT_STORAGE_URI=UNREACHABLE_REDIS))
            app.test_client_class = IsolatedClient
            with app.app_context():
                flask_migrate.upgrade()
                student = User(role=Role.STUDENT, email="s@example.org", name="Sam Student")
                set_password(student, TEST_PASSWORD)
                _db.session.add(student)
                _db.session.commit()
            client = app.test_client()
            signed_in = client.post(
                "/sign-in", data={"email": "s@example.org", "password": TEST_PASSWORD}
            )
            assert signed_in.status_code == 302
            assert client.get("/").status_code == 200
            assert client.get("/verify?id=ABCD-EFGH-IJKL-MNOP").status_code == 404
            assert any("falling back to in-memory" in m for m in said.messages), said.messages
            with app.app_context():
                _db.session.remove()
                _db.engine.dispose()
        finally:
            logging.getLogger("flask-limiter").removeHandler(said)
            # The limiter is one object for every app: give it back a storage that works.
            create_app(test_config(url))
