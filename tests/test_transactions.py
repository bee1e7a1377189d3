"""One transaction boundary (clerkship.transactions): one commit per request, in one place.

- no view, no service and not load_or_404 commits or rolls back (read from the code);
- a refused POST writes nothing, not even the audit row of the record it opened;
- a commit that fails gives a readable page and sends none of the request's e-mails;
- refusals that must be audited (a wrong password) are kept although the request fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

import flask_migrate
import pytest
from flask import flash
from sqlalchemy import func, select

from clerkship import create_app, mail, transactions
from clerkship.extensions import db as _db
from clerkship.models import AuditEvent, GoalContribution, Role, User
from tests.conftest import login, test_config
from tests.databases import fresh_database

PACKAGE = Path(__file__).resolve().parents[1] / "clerkship"
BOUNDARY = PACKAGE / "transactions.py"


def _calls(path: Path, names: set[str]) -> list[str]:
    """``….session.commit()`` and the like: the calls that end the request's transaction.
    (A savepoint's handle — ``step = db.session.begin_nested(); step.rollback()`` — ends only
    the savepoint, inside the request's transaction, and is allowed.)"""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {ast.unparse(node.func)}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in names
        and ast.unparse(node.func.value).split(".")[-1] == "session"
    ]


def _modules(*patterns: str) -> list[Path]:
    return sorted({path for pattern in patterns for path in PACKAGE.rglob(pattern)})


def test_no_view_service_or_query_commits_or_rolls_back():
    modules = _modules("views.py", "service.py", "queries.py", "setup.py", "dashboard.py")
    modules += [PACKAGE / "permissions.py", PACKAGE / "formerrors.py", PACKAGE / "audit.py"]
    assert len(modules) > 20
    found = [call for path in modules for call in _calls(path, {"commit", "rollback"})]
    assert found == []


def test_only_the_boundary_commits():
    """CLI commands and task steps use transactions.unit_of_work(), not commit()."""
    others = [
        call
        for path in _modules("*.py")
        if path != BOUNDARY
        for call in _calls(path, {"commit", "rollback"})
    ]
    assert others == []


def _count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_refused_post_writes_nothing_not_even_the_viewed_row(client, db, world, make_goal):
    mine = world["mine"]
    goal = make_goal(mine["student"], share_with=[mine["preceptor"]])
    login(client, mine["preceptor"])
    events, notes = _count(db, AuditEvent), _count(db, GoalContribution)

    response = client.post(f"/goals/{goal.id}/notes", data={"kind": "comment", "body": ""})

    assert response.status_code == 400
    assert _count(db, AuditEvent) == events  # load_or_404's "viewed" row went with it
    assert _count(db, GoalContribution) == notes


def test_the_same_page_read_successfully_is_audited(client, db, world, make_goal):
    mine = world["mine"]
    goal = make_goal(mine["student"], share_with=[mine["preceptor"]])
    login(client, mine["preceptor"])
    before = _count(db, AuditEvent, AuditEvent.action == "record.viewed")

    assert client.get(f"/goals/{goal.id}").status_code == 200

    assert _count(db, AuditEvent, AuditEvent.action == "record.viewed") == before + 1


def test_a_refusal_shown_after_a_redirect_writes_nothing(client, db, world, make_goal):
    """A service refusal flashed on a redirect (a 302) is still a failed request."""
    mine = world["mine"]
    goal = make_goal(mine["student"], share_with=[mine["preceptor"]])
    login(client, mine["preceptor"])
    client.post(f"/goals/{goal.id}/agree", data={"version": str(goal.current_version)})
    events = _count(db, AuditEvent)

    # Agreeing twice: the service refuses (AlreadyDone), the page says so.
    response = client.post(f"/goals/{goal.id}/agree", data={"version": str(goal.current_version)})

    assert response.status_code in (302, 400, 409)
    assert _count(db, AuditEvent) == events


def test_a_wrong_password_is_audited_although_the_request_fails(client, db, student):
    login(client, student)
    refused = AuditEvent.action == "auth.password_change_refused"
    before = _count(db, AuditEvent, refused)

    response = client.post(
        "/account/password",
        data={
            "current_password": "not my password",
            "new_password": "a completely new passphrase",
            "confirm": "a completely new passphrase",
        },
    )

    assert response.status_code == 400
    assert "That is not your current password." in response.get_data(as_text=True)
    assert _count(db, AuditEvent, refused) == before + 1


def test_after_commit_work_runs_after_a_commit_and_never_after_a_rollback(app, db):
    ran: list[str] = []
    with app.app_context():
        _count(db, User)  # a transaction is open
        transactions.after_commit(lambda: ran.append("dropped"))
        _db.session.rollback()
        with transactions.unit_of_work():
            transactions.after_commit(lambda: ran.append("kept"))
            assert ran == []
        assert ran == ["kept"]
        with pytest.raises(RuntimeError), transactions.unit_of_work():
            transactions.after_commit(lambda: ran.append("failed"))
            raise RuntimeError("boom")
        db.session.commit()
    assert ran == ["kept"]


# --- a commit that fails ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def fragile_app():
    """An app of its own with one extra page whose commit fails (a duplicate e-mail address
    that only the database notices, at the commit) after it has queued an e-mail."""
    with fresh_database("tx") as url:
        app = create_app(test_config(url))

        @app.post("/test/duplicate-then-mail")
        def duplicate_then_mail():
            _db.session.add(User(role=Role.STUDENT, email="twice@example.org", name="One"))
            _db.session.add(User(role=Role.STUDENT, email="twice@example.org", name="Two"))
            mail.send("someone@example.org", "password_reset", hours=2, link="http://x/")
            flash("Saved, says the view.", "success")
            return "saved", 200

        @app.post("/test/mail-then-commit")
        def mail_then_commit():
            _db.session.add(User(role=Role.STUDENT, email="once@example.org", name="Once"))
            mail.send("someone@example.org", "password_reset", hours=2, link="http://x/")
            return "saved", 200

        with app.app_context():
            flask_migrate.upgrade()
        yield app
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()


def test_a_failed_commit_gives_a_readable_page_writes_nothing_and_sends_no_mail(fragile_app):
    box = mail.outbox(fragile_app)
    box.clear()

    client = fragile_app.test_client()
    response = client.post("/test/duplicate-then-mail")

    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert page != "saved"
    assert "Nothing you sent was saved" in page
    assert "Saved, says the view." not in page
    assert box == []
    with fragile_app.app_context():
        assert _count(_db, User, User.email == "twice@example.org") == 0
    later = client.get("/verify").get_data(as_text=True)
    assert "Saved, says the view." not in later  # nor on the next page


def test_a_good_commit_sends_its_mail_after_the_commit(fragile_app):
    box = mail.outbox(fragile_app)
    box.clear()

    response = fragile_app.test_client().post("/test/mail-then-commit")

    assert response.status_code == 200
    assert [m["To"] for m in box] == ["someone@example.org"]
    with fragile_app.app_context():
        assert _count(_db, User, User.email == "once@example.org") == 1
