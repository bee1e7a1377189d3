"""Kept pages (clerkship/page_cache.py): a home or dashboard is served from memory until the data
it shows changes, by whatever path, and never to anyone else or with another's values."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from clerkship import clock, page_cache
from clerkship.models import AuditEvent, DataVersion, PanelEntry, Program
from tests.conftest import login


@pytest.fixture
def pages(app):
    store = page_cache.store(app)
    assert store is not None, "the page cache is on in the test configuration"
    store.clear()
    return store


def signed_in(client, user):
    """Signed in, past the welcome message (a page with a message is never kept)."""
    login(client, user)
    get(client)


def get(client, path="/"):
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def dashboard(world, side="mine"):
    return f"/cohorts/{world[side]['cohort'].id}/dashboard"


def test_a_second_visit_is_served_from_memory_with_fewer_queries(
    client, world, pages, count_queries
):
    signed_in(client, world["mine"]["director"])
    with count_queries() as first:
        made = get(client, dashboard(world))
    with count_queries() as second:
        kept = get(client, dashboard(world))
    assert pages.hits == 1
    assert kept == made or _without_tokens(kept) == _without_tokens(made)
    assert len(second) < len(first) and len(second) <= 4, second


def test_a_change_through_a_form_shows_at_once(client, world, pages):
    mine = world["mine"]
    signed_in(client, mine["director"])
    assert "Renamed program" not in get(client, dashboard(world))
    get(client, dashboard(world))  # now kept
    assert pages.hits == 1
    edit = client.get(f"/programs/{mine['program'].id}/edit")
    assert edit.status_code == 200
    form = _form_fields(edit.get_data(as_text=True))
    form["name"] = "Renamed program"
    response = client.post(f"/programs/{mine['program'].id}/edit", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    get(client)  # the redirect's flash is shown here
    assert "Renamed program" in get(client, dashboard(world))


def test_a_change_through_a_service_shows_at_once(client, world, pages, make_goal):
    mine = world["mine"]
    signed_in(client, mine["student"])
    assert "Your learning goals" not in get(client)
    get(client)
    assert pages.hits == 1
    make_goal(mine["student"], title="Lead a family meeting")  # committed by the service path
    assert "Your learning goals" in get(client)


def test_a_change_in_a_test_session_not_yet_committed_shows(client, db, world, pages):
    mine = world["mine"]
    signed_in(client, mine["student"])
    assert mine["patient"].name in get(client)
    get(client)
    entry = db.session.scalar(
        select(PanelEntry).where(PanelEntry.student_id == mine["student"].id)
    )
    entry.end_date = clock.today() - timedelta(days=1)
    db.session.flush()  # not committed: this process's own write still changes the key
    assert mine["patient"].name not in get(client)


def test_a_new_token_in_the_database_makes_the_page_again(client, db, world, pages):
    """Another process's commit (an import, a command, a worker on another machine) replaces
    the token: this process has not written anything, and still makes the page again."""
    signed_in(client, world["mine"]["director"])
    get(client, dashboard(world))
    get(client, dashboard(world))
    assert pages.hits == 1
    db.session.execute(
        DataVersion.__table__.update().values(token="0123456789abcdef0123456789abcdef")
    )
    get(client, dashboard(world))
    assert pages.hits == 1 and pages.misses >= 2


def test_writes_that_no_page_shows_keep_the_page(client, db, world, pages):
    mine = world["mine"]
    signed_in(client, mine["director"])
    get(client, dashboard(world))
    db.session.add(AuditEvent(actor_id=mine["director"].id, action="test.nothing_shown"))
    db.session.commit()
    get(client, dashboard(world))
    assert pages.hits == 1


def test_another_director_never_gets_the_kept_page(app, client, world, pages):
    signed_in(client, world["mine"]["director"])
    get(client, dashboard(world))
    get(client, dashboard(world))
    other = app.test_client()
    signed_in(other, world["other"]["director"])
    assert other.get(dashboard(world)).status_code == 404
    assert world["mine"]["student"].name not in get(other)


def test_each_browser_gets_its_own_csrf_token_and_sign_out_works(app, client, world, pages):
    director = world["mine"]["director"]
    second_browser = app.test_client()
    signed_in(client, director)
    signed_in(second_browser, director)
    first = _tokens(get(client, dashboard(world)))
    kept = get(second_browser, dashboard(world))
    assert pages.hits == 1
    assert _tokens(kept) and set(_tokens(kept)).isdisjoint(first)
    # The kept page's forms work in the browser that received it.
    response = second_browser.post("/sign-out", data={"csrf_token": _tokens(kept)[0]})
    assert response.status_code == 302
    assert second_browser.get("/").status_code == 302  # signed out
    assert client.get("/").status_code == 200  # the first browser is still in


def test_a_flashed_message_is_shown_once_and_never_kept(client, world, pages):
    signed_in(client, world["mine"]["student"])
    get(client)
    with client.session_transaction() as browser:
        browser["_flashes"] = [("info", "A message for this page only")]
    assert "A message for this page only" in get(client)
    assert "A message for this page only" not in get(client)
    assert pages.hits == 1  # the page with the message was made, not served nor kept


def test_a_new_day_makes_the_page_again(client, world, pages, monkeypatch):
    signed_in(client, world["mine"]["student"])
    get(client)
    get(client)
    assert pages.hits == 1
    tomorrow = clock.utcnow() + timedelta(days=1)
    monkeypatch.setattr(page_cache, "utcnow", lambda: tomorrow)
    get(client)
    assert pages.hits == 1


def test_a_rollback_forgets_what_was_never_committed(client, db, world, pages):
    mine = world["mine"]
    signed_in(client, mine["director"])
    savepoint = db.session.begin_nested()
    db.session.get(Program, mine["program"].id).name = "Never committed"
    db.session.flush()
    assert "Never committed" in get(client, dashboard(world))  # the open transaction's view
    savepoint.rollback()
    assert "Never committed" not in get(client, dashboard(world))


def test_without_the_version_row_pages_are_made_each_time(client, db, world, pages):
    db.session.execute(DataVersion.__table__.delete())
    signed_in(client, world["mine"]["student"])
    get(client)
    get(client)
    assert pages.hits == 0


def test_a_page_with_a_create_form_is_never_kept(client, world, pages):
    signed_in(client, world["mine"]["student"])
    # The home has no create form; the goal form page is not kept at all. Check the rule:
    with client.application.test_request_context("/"):
        from flask import g

        from clerkship import submissions

        assert not g.get(page_cache._UNKEEPABLE)
        submissions.field("goals.new")
        assert g.get(page_cache._UNKEEPABLE)


def test_off_when_configured(tmp_path):
    from clerkship import create_app
    from tests.conftest import test_config

    app = create_app(test_config(f"sqlite:///{tmp_path / 'x.sqlite3'}", PAGE_CACHE_BYTES=0))
    assert page_cache.store(app) is None


def test_least_recently_used_pages_leave_first():
    store = page_cache.PageStore(max_bytes=10)
    store.put(("a",), "12345")
    store.put(("b",), "12345")
    assert store.get(("a",)) == "12345"  # a is now the more recent
    store.put(("c",), "12345")
    assert store.get(("b",)) is None and store.get(("a",)) and store.get(("c",))
    store.put(("huge",), "x" * 11)
    assert store.get(("huge",)) is None


def _tokens(html: str) -> list[str]:
    return re.findall(r'name="csrf_token" value="([^"]+)"', html) + re.findall(
        r'data-csrf="([^"]+)"', html
    )


def _without_tokens(html: str) -> str:
    for token in _tokens(html):
        html = html.replace(token, "")
    return html


def _form_fields(html: str) -> dict:
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    fields.update(
        (name, value)
        for name, value in re.findall(
            r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', html
        )
    )
    return fields


def _versions(db) -> tuple[str, str | None]:
    row = db.session.execute(select(DataVersion.token, DataVersion.records_token)).one()
    return row.token, row.records_token


def test_a_change_flushed_only_by_the_commit_replaces_the_tokens(db, world):
    """SQLAlchemy calls before_commit before the commit's own flush: a change nothing flushed
    earlier must still give other processes a new token."""
    before = _versions(db)
    world["mine"]["program"].name = "Renamed at commit"
    assert db.session.dirty  # nothing has flushed it yet
    db.session.commit()
    after = _versions(db)
    assert after[0] != before[0] and after[1] != before[1]


def test_an_export_of_its_own_keeps_the_records_token(db, world):
    """Exporting writes jobs, documents and audit rows: pages change, portfolios do not."""
    from clerkship.portfolios import service

    mine = world["mine"]
    before = _versions(db)
    service.start_export(mine["director"], student=mine["student"])
    db.session.commit()
    after = _versions(db)
    assert after[0] != before[0]  # the director's home lists the export
    assert after[1] == before[1]
    db.session.add(AuditEvent(actor_id=mine["director"].id, action="test.nothing_shown"))
    db.session.commit()
    assert _versions(db) == after


def test_a_migration_replaces_both_tokens(app):
    """A migration changes data outside the app's sessions: nothing kept survives it."""
    import flask_migrate

    from clerkship.extensions import db as _db

    with app.app_context():
        before = _versions(_db)
        _db.session.remove()
        flask_migrate.upgrade()
        after = _versions(_db)
        _db.session.remove()
    assert before[0] != after[0] and before[1] != after[1]
