"""A sign-in with an unknown address costs what a wrong password costs: one argon2 verify
with the same parameters, so timing does not tell which addresses have accounts."""

from __future__ import annotations

import statistics
import time

from clerkship.auth import passwords, service
from clerkship.config import Defaults

RUNS = 15


def test_unknown_address_and_wrong_password_take_the_same_time(app, db, make_user, capsys):
    real_cost = {
        "ARGON2_TIME_COST": Defaults.ARGON2_TIME_COST,
        "ARGON2_MEMORY_COST": Defaults.ARGON2_MEMORY_COST,
        "ARGON2_PARALLELISM": Defaults.ARGON2_PARALLELISM,
    }
    saved = {key: app.config[key] for key in real_cost}
    app.config.update(real_cost)
    try:
        with app.test_request_context("/sign-in", method="POST"):
            user = make_user(email="known@school.edu")
            passwords.set_password(user, "a long and right passphrase")
            db.session.flush()
            known, unknown = [], []

            def timed(email: str) -> float:
                started = time.perf_counter()
                assert service.authenticate(email, "a wrong passphrase, long") is None
                return time.perf_counter() - started

            timed("nobody@school.edu")  # the first call may make the dummy hash once
            for _ in range(RUNS):  # interleaved, so load on the machine hits both alike
                known.append(timed("known@school.edu"))
                unknown.append(timed("nobody@school.edu"))
    finally:
        app.config.update(saved)
    known_median, unknown_median = statistics.median(known), statistics.median(unknown)
    with capsys.disabled():
        print(
            f"\nsign-in timing, {RUNS} runs each: wrong password median "
            f"{known_median * 1000:.0f} ms [{min(known) * 1000:.0f}-{max(known) * 1000:.0f}], "
            f"unknown address median {unknown_median * 1000:.0f} ms "
            f"[{min(unknown) * 1000:.0f}-{max(unknown) * 1000:.0f}]"
        )
    assert abs(unknown_median - known_median) <= 0.25 * known_median
    assert min(unknown) <= max(known) and min(known) <= max(unknown)  # the ranges overlap
