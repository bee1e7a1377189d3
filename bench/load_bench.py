"""Load benchmark (``make bench``): one JSON line per figure, never part of ``make test``.

A bounded Locust run on loopback only, which stops by itself: gunicorn with 2 workers in front
of the demo year (``BENCH_STUDENTS``, default 150 students) in a fresh PostgreSQL database;
50 simulated people (students 5 : preceptors 3 : directors 1 : patients 1) doing their main
journeys for 2 minutes, pausing 1–4 s between pages like people do (target: no errors, p95 at
most 300 ms). Then the same journeys without pauses for the app's capacity, and a hello-world
Flask app under the same gunicorn and Locust settings as the base of the ratio.

Locust runs as one process on the same machine: on 2 cores it competes with gunicorn and
PostgreSQL for the CPU, so the figures are a floor for a separate load generator.

Environment: ``BENCH_PG_URL`` (a server where we may create databases; default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), ``BENCH_LOAD_SECONDS`` (120),
``BENCH_CAPACITY_SECONDS`` (30, also the baseline's), ``BENCH_LOAD_USERS`` (50),
``BENCH_SPAWN_RATE`` (5 new users a second), ``BENCH_LOAD_KEEP=1`` (keep the samples, plans
and server logs in the temporary folder and print where).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

from common import STUDENTS, build_demo_year, emit

ROOT = Path(__file__).resolve().parents[1]
SERVER_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
USERS = int(os.environ.get("BENCH_LOAD_USERS", "50"))
SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "120"))
CAPACITY_SECONDS = int(os.environ.get("BENCH_CAPACITY_SECONDS", "30"))
# Sign-in verifies an argon2id hash (64 MiB, 3 passes, 4 lanes): ~0.2 s on both cores of this
# machine. 2 people a second (50 in 25 s) is already a rush; 5 or 10 a second queue everything
# behind the sign-ins for the first half minute.
SPAWN_RATE = float(os.environ.get("BENCH_SPAWN_RATE", "2"))
THINK = "1,4"  # seconds between pages: a brisk reader (people usually take longer)
TARGET_P95_MS = 300
WORKERS = 2
ROLES = ["Student", "Preceptor", "Director", "Patient"]  # Locust user classes
SIGN_IN = "POST /sign-in"
RAMP_SECONDS = USERS / SPAWN_RATE


# --- the database ---------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database():
    """A new database on the server, dropped afterwards whatever happens."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"clerkship_load_{secrets.token_hex(4)}"
    server = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _plan(app, tokens: int) -> dict:
    """Who the simulated people sign in as, and ``tokens`` fresh invitation links for the
    patients, made through the service layer as a student would make them (only their hashes
    are stored, so the demo year's own links cannot be opened)."""
    from sqlalchemy import or_, select

    from clerkship.clock import today
    from clerkship.demo import DEMO_PASSWORD
    from clerkship.extensions import db
    from clerkship.models import (
        Assignment,
        Cohort,
        InvitationPurpose,
        PanelEntry,
        Program,
        Role,
        User,
    )
    from clerkship.panels import service as panels

    rng = random.Random(8)
    with app.app_context():
        now = today()
        students = list(db.session.scalars(select(User).where(User.role == Role.STUDENT)))
        preceptors = list(
            db.session.scalars(
                select(User)
                .join(Assignment, Assignment.preceptor_id == User.id)
                .where(
                    Assignment.start_date <= now,
                    or_(Assignment.end_date.is_(None), Assignment.end_date >= now),
                )
                .distinct()
            )
        )
        program = db.session.scalar(select(Program))
        cohort = db.session.scalar(select(Cohort).order_by(Cohort.start_date.desc()))
        entries = list(db.session.scalars(select(PanelEntry).order_by(PanelEntry.id)))
        made: list[str] = []
        for entry in entries * math.ceil(tokens / max(len(entries), 1)):
            if len(made) >= tokens:
                break
            with contextlib.suppress(panels.PanelError):
                made.append(
                    panels.create_invitation(entry.student, entry, InvitationPurpose.FEEDBACK)[1]
                )
        db.session.info.pop("clerkship_outbox", None)
        db.session.commit()
        plan = {
            "password": DEMO_PASSWORD,
            "students": rng.sample([u.email for u in students], len(students)),
            "preceptors": rng.sample([u.email for u in preceptors], len(preceptors)),
            "directors": [u.email for u in program.directors],
            "cohort": cohort.id,
            "student_ids": [u.id for u in students],
            "patient_items": [item.key for item in program.feedback_instrument.items],
            "patient_tokens": rng.sample(made, len(made)),
        }
        db.session.remove()
    return plan


# --- gunicorn -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """TERM the whole process group (gunicorn's workers, Locust's greenlets), then KILL."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    """Our own gunicorn or Locust, in a process group of its own (see _stop), output to log."""
    with log.open("w") as out:
        return subprocess.Popen(  # noqa: S603 - our own commands
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextlib.contextmanager
def gunicorn(app_spec: str, env: dict, log: Path, *extra: str):
    port = _free_port()
    command = [sys.executable, "-m", "gunicorn"]
    deploy = ROOT / "deploy" / "gunicorn.conf.py"
    if deploy.exists():
        command += ["-c", str(deploy)]  # the deployment's settings; workers and bind are ours
    command += [
        *("--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}"),
        *("--log-level", "warning", *extra, app_spec),
    ]
    process = _start(command, env, log)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn stopped:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/", timeout=5):  # noqa: S310 - loopback
                    break
            except urllib.error.HTTPError:
                break  # it answers (a redirect to sign-in ends as a page or an error)
            except OSError as error:
                if time.monotonic() > deadline:
                    tail = log.read_text()[-3000:]
                    raise RuntimeError(f"gunicorn never answered:\n{tail}") from error
                time.sleep(0.25)
        yield url
    finally:
        _stop(process)


# --- Locust ---------------------------------------------------------------------------------


def locust(
    host: str,
    classes: list[str],
    seconds: float,
    think: str,
    folder: Path,
    tag: str,
    plan: dict | None = None,
) -> dict:
    """Ramp up to ``USERS`` at ``SPAWN_RATE``, then keep them busy for ``seconds``; return
    every request Locust made, each as (start s, role, name, ms, error)."""
    plan_file, samples = folder / f"{tag}-plan.json", folder / f"{tag}-samples.json"
    plan_file.write_text(json.dumps(plan or {}))
    env = dict(os.environ, LOAD_PLAN=str(plan_file), LOAD_SAMPLES=str(samples), LOAD_THINK=think)
    run_time = math.ceil(RAMP_SECONDS + seconds)
    command = [
        *(sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py")),
        *("--headless", "--only-summary", "--loglevel", "WARNING"),
        *("--users", str(USERS), "--spawn-rate", str(SPAWN_RATE), "--run-time", f"{run_time}s"),
        *("--host", host, "--exit-code-on-error", "0", *classes),
    ]
    log = folder / f"{tag}-locust.log"
    process = _start(command, env, log)
    try:
        process.wait(timeout=run_time + 120)
    finally:
        _stop(process)
    if not samples.exists():
        raise RuntimeError(f"Locust wrote no samples:\n{log.read_text()[-3000:]}")
    return json.loads(samples.read_text())


def steady(run: dict) -> tuple[list, float]:
    """The requests that finished once every user had started and signed in, and how long
    that was (throughput counted by completion: requests cut off at the stop never finish)."""
    samples = run["samples"]
    ready = max(
        [RAMP_SECONDS] + [at + ms / 1000 for at, _role, name, ms, _e in samples if name == SIGN_IN]
    )
    return [s for s in samples if s[0] + s[3] / 1000 > ready], run["seconds"] - ready


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 1) if ordered else 0.0


def figures(samples: list, seconds: float | None = None) -> dict:
    ordered = sorted(s[3] for s in samples)
    result = {"requests": len(samples)}
    if seconds:
        result["rps"] = round(len(samples) / seconds, 1)
    return {
        **result,
        "p50_ms": _percentile(ordered, 0.50),
        "p95_ms": _percentile(ordered, 0.95),
        "p99_ms": _percentile(ordered, 0.99),
        "errors": sum(1 for s in samples if s[4]),
    }


# --- the runs -------------------------------------------------------------------------------


def _production_keys(folder: Path) -> None:
    """What an install has in its instance folder: the signing key and the PDF certificate."""
    from clerkship import pdf_signing, signing_keys

    if not (folder / "signing-key.json").exists():
        signing_keys.create(folder / "signing-key.json")
    if not (folder / "pdf-signing-cert.pem").exists():
        pdf_signing.create_self_signed(
            folder / "pdf-signing-cert.pem", folder / "pdf-signing-key.pem", "Load bench"
        )


def _app_env(folder: Path, database_url: str) -> dict:
    _production_keys(folder)
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("CLERKSHIP_")] + ["REDIS_URL", "SECRET_KEY"]:
        env.pop(key, None)
    env.update(
        # Production settings, as deployed: no debug, no testing shortcuts, CSRF and rate
        # limits on (they count only failed sign-ins and bad links, so valid journeys never
        # trip them, and their per-request cost is part of what we measure; in memory per
        # worker, as without REDIS_URL).
        CLERKSHIP_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        DATABASE_URL=database_url,
        # Only the cookie's transport flags are relaxed: the run is plain http on loopback,
        # where a TLS proxy would sit in production. A Secure cookie (and the __Host- name,
        # which requires Secure) would not be sent back over http by a browser, and a
        # load generator that sends it anyway would be behaving unlike one.
        CLERKSHIP_SESSION_COOKIE_SECURE="false",
        CLERKSHIP_REMEMBER_COOKIE_SECURE="false",
        CLERKSHIP_SESSION_COOKIE_NAME="session",
        CLERKSHIP_BASE_URL="http://127.0.0.1",
        # E-mails (new notes, ratings, invitations) are written as files, not logged.
        CLERKSHIP_MAIL_BACKEND="file",
        CLERKSHIP_MAIL_FILE_DIR=str(folder / "mail"),
        CLERKSHIP_INSTANCE_PATH=str(folder),
        CLERKSHIP_EXPORT_DIR=str(folder / "exports"),
        CLERKSHIP_QUEUE_PATH=str(folder / "queue.sqlite3"),
    )
    return env


def _by(samples: list, index: int) -> dict[str, list]:
    groups: dict[str, list] = defaultdict(list)
    for sample in samples:
        groups[sample[index]].append(sample)
    return groups


def _report_main(run: dict, label: str, loadavg: float) -> None:
    samples, seconds = run["samples"], run["seconds"]
    total = figures(samples, seconds)
    emit(
        label,
        **total,
        target_p95_ms=TARGET_P95_MS,
        met=total["errors"] == 0 and total["p95_ms"] <= TARGET_P95_MS,
        seconds=round(seconds, 1),
        ramp_s=round(RAMP_SECONDS, 1),
        users=USERS,
        think_s=THINK.replace(",", "-"),
        students=STUDENTS,
        locust="1 process, same 2 cores",
        includes="the ramp and every sign-in",
        loadavg_before=loadavg,
    )
    emit(
        "load: sign-ins alone (argon2id), counted above",
        **figures([s for s in samples if s[2] == SIGN_IN]),
    )
    emit(
        "load: all but sign-ins, counted above",
        **figures([s for s in samples if s[2] != SIGN_IN], seconds),
    )
    after, length = steady(run)
    emit(
        f"load: after the ramp, all {USERS} signed in",
        **figures(after, length),
        seconds=round(length, 1),
    )
    emit(
        "load: by role [p95 ms, requests, errors]",
        **{
            role: [f["p95_ms"], f["requests"], f["errors"]]
            for role, f in ((r, figures(v)) for r, v in sorted(_by(samples, 1).items()))
        },
    )
    slowest = sorted(
        ([name, *figures(v).values()] for name, v in _by(samples, 2).items()),
        key=lambda row: row[3],
        reverse=True,
    )[:8]
    emit(
        "load: slowest endpoints [name, requests, p50, p95, p99, errors]",
        endpoints=slowest,
        steady=sorted(
            ([name, *figures(v).values()] for name, v in _by(after, 2).items()),
            key=lambda row: row[3],
            reverse=True,
        )[:5],
    )
    errors = Counter(f"{s[2]}: {s[4]}" for s in samples if s[4])
    if errors:
        emit("load: errors", **dict(errors.most_common(10)))
    emit("load: patient links left unused", links=run.get("patient_links_left"))


def _interrupted(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main() -> None:
    # Ctrl-C (even when started with SIGINT ignored, as in a background job) and a polite
    # kill both unwind through the finally blocks: gunicorn and Locust run in their own
    # process groups, so they get no signal of their own and are stopped from here.
    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)
    folder = Path(tempfile.mkdtemp(prefix="clerkship-load-"))
    os.environ["CLERKSHIP_QUEUE_PATH"] = str(folder / "queue.sqlite3")
    os.environ.pop("REDIS_URL", None)
    patients = max(1, USERS // 10)
    # Other work on the machine (a test suite, say) would skew the figures: say how busy it was.
    loadavg = round(os.getloadavg()[0], 2)
    try:
        with fresh_database() as database_url:
            from clerkship import create_app
            from clerkship.extensions import db

            setup = create_app(
                {
                    "ENV": "testing",
                    "SQLALCHEMY_DATABASE_URI": database_url,
                    "MAIL_BACKEND": "memory",
                    "EXPORT_DIR": str(folder / "exports"),
                    # Signed with the key the served app (instance folder ``folder``) checks.
                    "SIGNING_KEY_FILE": str(folder / "signing-key.json"),
                    "PDF_SIGNING_CERT": str(folder / "pdf-signing-cert.pem"),
                    "PDF_SIGNING_KEY": str(folder / "pdf-signing-key.pem"),
                }
            )
            seconds = build_demo_year(setup, STUDENTS)
            emit("load: demo year built on PostgreSQL", students=STUDENTS, seconds=round(seconds))
            env = _app_env(folder, database_url)
            with gunicorn("clerkship:create_app()", env, folder / "gunicorn.log") as host:
                plan = _plan(setup, tokens=patients * SECONDS)
                main_run = locust(host, ROLES, SECONDS, THINK, folder, "main", plan)
                minutes = f"{SECONDS // 60} min" if SECONDS % 60 == 0 else f"{SECONDS} s"
                _report_main(
                    main_run,
                    f"load: {USERS} users, {minutes}, gunicorn {WORKERS} workers, PostgreSQL",
                    loadavg,
                )
                plan = _plan(setup, tokens=patients * CAPACITY_SECONDS * 5)
                capacity = locust(host, ROLES, CAPACITY_SECONDS, "0,0", folder, "capacity", plan)
            with setup.app_context():
                db.engine.dispose()
        after, length = steady(capacity)
        app = figures(after, length)
        emit(
            "load: capacity, same journeys without pauses, after the ramp",
            **app,
            seconds=round(length, 1),
            users=USERS,
        )
        # The same gunicorn command (deploy settings, 2 workers) and the same Locust settings.
        with gunicorn(
            "hello_app:app", dict(os.environ), folder / "hello.log", "--pythonpath", "bench"
        ) as host:
            hello = locust(host, ["Hello"], CAPACITY_SECONDS, "0,0", folder, "hello")
        after, length = steady(hello)
        base = figures(after, length)
        emit(
            "load: hello-world Flask baseline, same gunicorn and Locust settings",
            **base,
            seconds=round(length, 1),
            users=USERS,
            app_capacity_over_hello=round(app["rps"] / base["rps"], 3) if base["rps"] else None,
        )
    finally:
        if os.environ.get("BENCH_LOAD_KEEP"):
            print(f"kept: {folder}", file=sys.stderr)  # samples, plans and logs to look at
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
