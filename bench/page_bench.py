"""Page capacity benchmark (``make bench``, figure (f)): requests a second of one page alone
against a hello-world Flask app, under the same gunicorn and Locust settings, in one run.

For each database (SQLite file and PostgreSQL; ``BENCH_PAGE_DATABASES``, default both): the
demo year (``BENCH_STUDENTS``), gunicorn with 2 workers and the deployment's settings, then
three Locust runs of 50 users without pauses, each asking for one page only: the student home,
the preceptor home, the cohort dashboard. Each user signs in first; sign-ins (argon2id) are
not counted: only the requests for the page that finished once every user had signed in.
Their password hash is made cheap (1 pass over 8 MiB, in the demo year and in the served app)
so that 50 people are signed in within seconds on a loaded machine: no page measured hashes.
The hello-world app is measured before and after the pages (the machine's load drifts); the
ratio is the page's requests a second over the mean of the two.

Targets (issue 20): homes at least 25 % of hello-world, the dashboard at least 10 %; 0 errors.

Each page is measured twice: as deployed (pages kept until the data changes,
clerkship/page_cache.py; after the first visit of each user most requests are served from
memory) and with the page cache off (``PAGE_CACHE_BYTES=0``: every request makes the page),
so both the figure users see and the cost of making a page are on record.

Environment: as ``bench/load_bench.py``; ``BENCH_PAGE_SECONDS`` (20) for each run, after
``BENCH_PAGE_SIGN_IN_SECONDS`` (40) in which everyone signs in (what is left of it counts too).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import load_bench as load
from common import STUDENTS, build_demo_year, emit

SECONDS = int(os.environ.get("BENCH_PAGE_SECONDS", "20"))
# Sign-ins queue behind the pages of those already in (no pauses): time for the last of them,
# before the counted SECONDS begin (load_bench.steady counts from the last sign-in's end).
SIGN_IN_SECONDS = int(os.environ.get("BENCH_PAGE_SIGN_IN_SECONDS", "40"))
DATABASES = os.environ.get("BENCH_PAGE_DATABASES", "sqlite,postgresql").split(",")
# Sign-ins are outside what is measured: a cheap argon2id, the same in the data and the app.
CHEAP_HASH = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8192, "ARGON2_PARALLELISM": 1}
MODES = {  # label -> extra environment of the served app
    "kept": {},
    "made each time": {"CLERKSHIP_PAGE_CACHE_BYTES": "0"},
}
PAGES = {  # Locust class (bench/locustfile.py) -> the target share of hello-world
    "StudentHome": 0.25,
    "PreceptorHome": 0.25,
    "CohortDashboard": 0.10,
}


@contextlib.contextmanager
def database(kind: str, folder: Path):
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.sqlite3'}"
    else:
        with load.fresh_database() as url:
            yield url


def hello(folder: Path, tag: str) -> dict:
    with load.gunicorn(
        "hello_app:app", dict(os.environ), folder / f"{tag}.log", "--pythonpath", "bench"
    ) as host:
        run = load.locust(host, ["Hello"], SECONDS, "0,0", folder, tag)
    after, length = load.steady(run)
    return load.figures(after, length)


def pages(kind: str, folder: Path, loadavg: float) -> None:
    from clerkship import create_app
    from clerkship.extensions import db

    with database(kind, folder) as url:
        setup = create_app(
            {
                "ENV": "testing",
                "SQLALCHEMY_DATABASE_URI": url,
                "MAIL_BACKEND": "memory",
                "EXPORT_DIR": str(folder / "exports"),
                "SIGNING_KEY_FILE": str(folder / "signing-key.json"),
                "PDF_SIGNING_CERT": str(folder / "pdf-signing-cert.pem"),
                "PDF_SIGNING_KEY": str(folder / "pdf-signing-key.pem"),
                **CHEAP_HASH,
            }
        )
        seconds = build_demo_year(setup, STUDENTS)
        emit(f"pages: demo year built on {kind}", students=STUDENTS, seconds=round(seconds))
        plan = load._plan(setup, tokens=0)
        with setup.app_context():
            db.engine.dispose()
        base_before = hello(folder, f"{kind}-hello-before")
        results = {}
        for mode, extra in MODES.items():
            env = load._app_env(folder, url)
            env.update({f"CLERKSHIP_{key}": str(value) for key, value in CHEAP_HASH.items()})
            env.update(extra)
            tag = f"{kind}-{mode.replace(' ', '-')}"
            with load.gunicorn("clerkship:create_app()", env, folder / f"{tag}.log") as host:
                for page in PAGES:
                    run = load.locust(
                        host,
                        [page],
                        SIGN_IN_SECONDS + SECONDS,
                        "0,0",
                        folder,
                        f"{tag}-{page}",
                        plan,
                    )
                    after, length = load.steady(run)
                    asked = [s for s in after if s[2].startswith("page ")]
                    results[(page, mode)] = (
                        load.figures(asked, length),
                        sum(1 for s in run["samples"] if s[4]),  # every error, sign-ins too
                    )
        base_after = hello(folder, f"{kind}-hello-after")
    base = (base_before["rps"] + base_after["rps"]) / 2
    emit(
        f"pages: hello-world Flask, {kind} run",
        rps_before=base_before["rps"],
        rps_after=base_after["rps"],
        errors=base_before["errors"] + base_after["errors"],
        users=load.USERS,
        loadavg_before=loadavg,
    )
    for (page, mode), (figures, errors) in results.items():
        share = round(figures["rps"] / base, 3) if base else None
        emit(
            f"pages (f): {page} alone on {kind}, pages {mode}, against hello-world",
            **figures,
            errors_with_sign_ins=errors,
            share_of_hello=share,
            target=PAGES[page],
            met=bool(share and share >= PAGES[page] and errors == 0),
            seconds=SECONDS,
            users=load.USERS,
            gunicorn_workers=load.WORKERS,
        )


def main() -> None:
    signal.signal(signal.SIGINT, load._interrupted)
    signal.signal(signal.SIGTERM, load._interrupted)
    os.environ.pop("REDIS_URL", None)
    for kind in DATABASES:
        folder = Path(tempfile.mkdtemp(prefix=f"clerkship-pages-{kind}-"))
        os.environ["CLERKSHIP_QUEUE_PATH"] = str(folder / "queue.sqlite3")
        try:
            pages(kind, folder, round(os.getloadavg()[0], 2))
        finally:
            if os.environ.get("BENCH_LOAD_KEEP"):
                print(f"kept: {folder}", file=sys.stderr)
            else:
                shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
