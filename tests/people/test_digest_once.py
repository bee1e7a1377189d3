"""Digests: exactly one per person per program day, across midnight and from two processes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

import flask_migrate
from sqlalchemy import func, select

from clerkship import clock, create_app, demo
from clerkship.extensions import db as _db
from clerkship.models import AuditEvent, DigestSent
from clerkship.reminders import service as reminders
from tests.conftest import test_config
from tests.databases import fresh_database
from tests.people.test_reminders import _to

ROOT = Path(__file__).resolve().parents[2]


def _days(db, user) -> list:
    return sorted(
        db.session.scalars(select(DigestSent.day).where(DigestSent.user_id == user.id)).all()
    )


def test_across_midnight_one_digest_per_program_day_in_each_programs_time_zone(app, db, world):
    """Two programs: Chicago's day has not turned at 00:00:30 UTC, the UTC program's has."""
    chicago, utc = world["mine"], world["other"]
    chicago["program"].time_zone = "America/Chicago"
    db.session.commit()
    today = clock.today()
    before = clock.at(today, 23, 59) + timedelta(seconds=30)
    after = before + timedelta(minutes=1)
    reminders.send_daily(before)
    reminders.send_daily(after)
    reminders.send_daily(after + timedelta(seconds=5))  # a third run, as a retry would
    assert _days(db, chicago["student"]) == [today]  # 17:59 and 18:00 in Chicago: one day
    assert _days(db, utc["student"]) == [today, today + timedelta(days=1)]
    assert len(_to(app, chicago["student"].email)) == 1
    assert len(_to(app, utc["student"].email)) == 2


def test_the_periodic_run_waits_for_seven_in_the_programs_morning(app, db, world):
    chicago, utc = world["mine"], world["other"]
    chicago["program"].time_zone = "America/Chicago"
    db.session.commit()
    seven_thirty_utc = clock.at(clock.today(), 7, 30)  # 01:30 in Chicago
    reminders.send_daily(seven_thirty_utc, reminders.DIGEST_HOUR)
    assert _days(db, utc["student"]) and not _days(db, chicago["student"])
    reminders.send_daily(seven_thirty_utc + timedelta(hours=6), reminders.DIGEST_HOUR)
    assert len(_days(db, chicago["student"])) == 1 and len(_days(db, utc["student"])) == 1


def _send_digests(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "clerkship", "send-digests"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_processes_at_once_send_each_person_one_digest():
    with fresh_database("digests") as url, tempfile.TemporaryDirectory() as instance:
        app = create_app(test_config(url))
        try:
            _two_runs_send_one_digest_each(app, url, instance)
        finally:  # a failure here must not leave a connection for a later test to trip on
            with app.app_context():
                _db.session.remove()
                _db.engine.dispose()


def _two_runs_send_one_digest_each(app, url: str, instance: str) -> None:
    with app.app_context():
        flask_migrate.upgrade()
        demo.build_demo_year(students=6)
        _db.session.commit()
    env = dict(
        os.environ,
        DATABASE_URL=url,
        CLERKSHIP_ENV="testing",
        CLERKSHIP_INSTANCE_PATH=instance,
        CLERKSHIP_MAIL_BACKEND="memory",
    )
    runs = [_send_digests(env), _send_digests(env)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    sent = [int(out.rsplit("Sent ", 1)[1].split()[0]) for out in outputs]
    with app.app_context():
        rows = _db.session.scalar(select(func.count(DigestSent.id)))
        per_person = Counter(
            _db.session.scalars(
                select(AuditEvent.object_id).where(AuditEvent.action == "digest.sent")
            )
        )
    assert rows > 0 and sum(sent) == rows, (sent, rows, outputs)
    assert set(per_person.values()) == {1}
