"""Server-side sessions: time-outs, sign-out that really ends a session, other devices."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from clerkship.extensions import db as _db
from clerkship.models import SignInSession, User, utcnow
from tests.conftest import login

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0 Safari/537.36"
)


def cookie(client) -> str:
    return client.get_cookie("session").value


def rows(db, user) -> list[SignInSession]:
    return db.session.scalars(
        select(SignInSession).where(SignInSession.user_id == user.id).order_by(SignInSession.id)
    ).all()


def age_sessions(db, user, *, idle: timedelta = timedelta(0), age: timedelta = timedelta(0)):
    now = utcnow()
    db.session.execute(
        update(SignInSession)
        .where(SignInSession.user_id == user.id)
        .values(last_seen_at=now - idle, created_at=now - max(age, idle))
    )
    db.session.commit()


def test_sign_in_stores_only_a_hash_of_the_browser_key(client, db, student):
    login(client, student)
    [row] = rows(db, student)
    with client.session_transaction() as session:
        key = session["sid"]
    assert len(row.key_hash) == 64
    assert key not in row.key_hash
    assert row.ended_at is None


def test_a_copied_cookie_is_useless_after_sign_out(app, client, db, student):
    login(client, student)
    stolen = cookie(client)
    client.post("/sign-out")
    [row] = rows(db, student)
    assert row.ended_reason == "signed_out"

    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/").status_code == 302


def test_signing_out_one_browser_leaves_the_others(app, client, db, student):
    laptop = app.test_client()
    login(laptop, student)
    login(client, student)
    client.post("/sign-out")
    assert laptop.get("/").status_code == 200


def test_idle_sessions_end_with_a_message_and_come_back_to_the_page(app, client, db, student):
    login(client, student)
    minutes = app.config["SESSION_IDLE_MINUTES"]
    age_sessions(db, student, idle=timedelta(minutes=minutes - 1))
    assert client.get("/goals/").status_code == 200  # still inside the limit

    age_sessions(db, student, idle=timedelta(minutes=minutes + 1))
    response = client.get("/goals/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=%2Fgoals%2F"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"You were signed out after {minutes} minutes without activity." in page
    with client.session_transaction() as session:
        assert "_user_id" not in session
        assert "sid" not in session


def test_a_form_sent_after_the_time_out_returns_to_its_page_after_sign_in(
    app, client, db, student
):
    login(client, student)
    age_sessions(db, student, idle=timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1))
    # /goals/<id>/notes takes only POST: coming back to it after signing in would be a 405.
    response = client.post(
        "/goals/1/notes",
        data={"body": "typed"},
        headers={"Referer": "http://localhost/goals/1?tab=notes"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=%2Fgoals%2F1%3Ftab%3Dnotes"
    # A Referer from another site is no place to return to.
    age_sessions(db, student, idle=timedelta(hours=1))
    login(client, student)
    age_sessions(db, student, idle=timedelta(hours=1))
    response = client.post(
        "/goals/1/notes", data={"body": "x"}, headers={"Referer": "https://evil.example/x"}
    )
    assert response.headers["Location"] == "/sign-in"


def test_the_typing_script_is_told_plainly_that_the_session_ended(app, client, db, student):
    login(client, student)
    assert client.post("/account/keep-alive").status_code == 204
    age_sessions(db, student, idle=timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1))
    response = client.post("/account/keep-alive")
    assert response.status_code == 401  # not a redirect the script would follow
    with client.session_transaction() as session:
        # The page says it; no message waits to surprise them on the next page.
        assert not any("signed out" in m for _c, m in session.get("_flashes", []))
        assert "_user_id" not in session


def test_using_the_site_keeps_the_session_alive(app, client, db, student):
    login(client, student)
    minutes = app.config["SESSION_IDLE_MINUTES"]
    age_sessions(db, student, idle=timedelta(minutes=minutes - 1))
    assert client.get("/").status_code == 200  # activity: last seen moves to now
    [row] = rows(db, student)
    db.session.refresh(row)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)


def test_typing_on_a_long_form_keeps_the_session_alive(app, client, db, student):
    login(client, student)
    page = client.get("/reflections/new").get_data(as_text=True)
    assert 'src="/static/js/keep-alive.js' in page
    age_sessions(db, student, idle=timedelta(minutes=20))
    assert client.post("/account/keep-alive").status_code == 204
    [row] = rows(db, student)
    db.session.refresh(row)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)


def test_progress_polling_is_not_activity(app, client, db, student):
    login(client, student)
    age_sessions(db, student, idle=timedelta(minutes=20))
    client.get("/exports/999999/status")  # what the export page's script does every second
    [row] = rows(db, student)
    db.session.refresh(row)
    assert utcnow() - row.last_seen_at > timedelta(minutes=19)


def test_sessions_end_after_the_absolute_limit_however_active(app, client, db, student):
    login(client, student)
    hours = app.config["SESSION_MAX_HOURS"]
    age_sessions(db, student, age=timedelta(hours=hours, minutes=1))
    response = client.get("/", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert f"You have been signed in for {hours} hours. Please sign in again." in page


def test_timeouts_are_configurable(app, client, db, student, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 5)
    login(client, student)
    age_sessions(db, student, idle=timedelta(minutes=6))
    assert client.get("/").status_code == 302


def test_the_devices_page_lists_sessions_and_ends_the_others(app, client, db, student):
    phone = app.test_client()
    login(phone, student)
    client.environ_base["HTTP_USER_AGENT"] = CHROME_ON_WINDOWS
    login(client, student)
    page = client.get("/account/sessions").get_data(as_text=True)
    assert "Chrome on Windows <strong>(this browser)</strong>" in page
    assert page.count("<tr>") == 3  # header + two sessions

    response = client.post("/account/sessions/end-others", follow_redirects=True)
    assert "1 other session has been signed out." in response.get_data(as_text=True)
    assert phone.get("/").status_code == 302
    assert client.get("/").status_code == 200
    assert "You are not signed in anywhere else." in client.get("/account/sessions").text
    assert [row.ended_reason for row in rows(db, student)] == ["other_device", None]


def test_deactivation_ends_every_session_row(client, db, world):
    from clerkship.people import service

    student, director = world["mine"]["student"], world["mine"]["director"]
    login(client, student)
    service.set_active(director, _db.session.get(User, student.id), False)
    db.session.commit()
    assert [row.ended_reason for row in rows(db, student)] == ["deactivated"]
    assert client.get("/").status_code == 302


def test_long_unused_sessions_are_deleted_by_the_daily_clean_up(app, client, db, student):
    login(client, student)
    other = app.test_client()
    login(other, student)
    keep = app.config["SESSION_KEEP_DAYS"]
    old, recent = rows(db, student)
    db.session.execute(
        update(SignInSession)
        .where(SignInSession.id == old.id)
        .values(last_seen_at=utcnow() - timedelta(days=keep, minutes=1))
    )
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["clean-sessions"])
    assert result.exit_code == 0, result.output
    assert "Removed 1 old sign-in session(s)." in result.output
    db.session.expire_all()
    assert [row.id for row in rows(db, student)] == [recent.id]
