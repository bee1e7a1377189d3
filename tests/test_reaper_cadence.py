"""The export reaper's cadence (config.EXPORT_REAP_SECONDS): Huey's scheduler ticks once a
minute, so a shorter cadence is the rest of the minute's runs, scheduled by each tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clerkship import tasks


@pytest.fixture
def queue():
    tasks.huey.flush()
    try:
        yield tasks.huey
    finally:
        tasks.huey.flush()


def _reaps_scheduled(queue) -> list[float]:
    now = datetime.now(UTC).replace(tzinfo=None)  # Huey keeps naive UTC etas
    return sorted(
        round((task.eta - now).total_seconds())
        for task in queue.pending()
        if task.name.endswith("reap_exports_again")
    )


@pytest.mark.parametrize(
    ("every", "delays"),
    [(60, []), (0, []), (20, [20, 40]), (15, [15, 30, 45]), (7, [7, 14, 21, 28, 35, 42, 49, 56])],
)
def test_each_minute_tick_schedules_the_rest_of_its_minute(app, queue, every, delays):
    app.config["EXPORT_REAP_SECONDS"] = every
    try:
        with app.app_context():
            tasks.reap_exports.call_local()
    finally:
        app.config["EXPORT_REAP_SECONDS"] = 60
    assert _reaps_scheduled(queue) == delays
    assert all(timedelta(seconds=d) < timedelta(minutes=1) for d in delays)
