"""Scale benchmark (``make bench-scale``, figure (g)): a school with 1,000 students in 3 programs.

Not part of ``make bench`` (building the year takes many minutes): one JSON line per figure.

- The demo year on PostgreSQL for ``BENCH_SCALE_STUDENTS`` (1000) students across
  ``BENCH_SCALE_PROGRAMS`` (3) programs: the first program takes what the others (150 each)
  leave, so one run measures a large cohort and a 150-student one side by side (when the total
  is below 150 a program, it is shared out evenly). Built through the demo builder's services;
  e-mails go nowhere (the memory backend, and the demo drops its notifications).
- Each program's cohort dashboard and one median student's portfolio page: p50/p95 of 30
  requests (in process, the Flask test client) and the number of SQL statements, which must
  be the same for every program size. The dashboard twice: made afresh for every request
  (as after any change to the data) and kept (clerkship/page_cache.py).
- A cold cohort export of the last program's cohort with 1, 2 and 4 Huey worker processes
  (``BENCH_SCALE_WORKERS``, "1,2,4"). Four are two consumers of two processes, each in an
  instance folder of its own, sharing only PostgreSQL, Redis and the export folder, as two
  machines would. Every PDF of every run is checked against the school's certificate.
  Between runs the earlier renderings are forgotten (their cache keys and records stamps
  cleared), so each run renders every document.

A finished build is kept (``pg_dump -Fc``, with the signing key it was signed with) in
``BENCH_SCALE_CACHE`` (``.bench-cache/`` in the checkout), keyed by the migration head, the
application's sources (the demo writes through its services) and the sizes; the next run
restores it with ``pg_restore`` instead of building again, and says which it did.
``python bench/scale_bench.py --build-only`` makes (or finds) that build and stops.

Environment: ``BENCH_PG_URL`` (as load_bench), ``BENCH_REDIS_URL`` (redis://127.0.0.1:6379/0;
the run empties that Redis database, so give it one of its own).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import portfolio_bench as pages
from common import emit

ROOT = Path(__file__).resolve().parents[1]
STUDENTS = int(os.environ.get("BENCH_SCALE_STUDENTS", "1000"))
PROGRAMS = int(os.environ.get("BENCH_SCALE_PROGRAMS", "3"))
WORKERS = [int(n) for n in os.environ.get("BENCH_SCALE_WORKERS", "1,2,4").split(",")]
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CACHE = Path(os.environ.get("BENCH_SCALE_CACHE", ROOT / ".bench-cache"))
OTHERS = 150  # students in each program after the first
TARGET_DASHBOARD_P95_MS = 100


def sizes(total: int, programs: int) -> list[int]:
    if total >= OTHERS * programs:
        return [total - OTHERS * (programs - 1)] + [OTHERS] * (programs - 1)
    share = total // programs
    return [total - share * (programs - 1)] + [share] * (programs - 1)


def _keys(folder: Path) -> None:
    """The school's keys; a signing key already there (a restored build's) is kept."""
    from clerkship import pdf_signing, signing_keys

    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "signing-key.json").exists():
        signing_keys.create(folder / "signing-key.json")
    pdf_signing.create_self_signed(
        folder / "pdf-signing-cert.pem", folder / "pdf-signing-key.pem", "Scale bench"
    )


def _copy_keys(source: Path, target: Path) -> None:
    """A second machine is installed with the school's keys (the same files)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("signing-key.json", "pdf-signing-cert.pem", "pdf-signing-key.pem"):
        shutil.copy2(source / name, target / name)


def build_key() -> str:
    """What a cached build depends on: the schema (migration head), the sources of the whole
    application (the demo writes through its services, so a change there changes the data),
    and how many students in how many programs."""
    from alembic.script import ScriptDirectory

    digest = hashlib.sha256()
    heads = ScriptDirectory(str(ROOT / "migrations")).get_heads()
    digest.update(",".join(sorted(heads)).encode())
    for source in sorted((ROOT / "clerkship").rglob("*.py")):
        name = source.relative_to(ROOT).as_posix()
        digest.update(name.encode() + b"\0" + source.read_bytes())
    digest.update(f"{STUDENTS}/{PROGRAMS}".encode())
    return digest.hexdigest()[:16]


def _libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found: install PostgreSQL's client tools")
    return found


def _build(app, url: str, folder: Path) -> None:
    """Restore the cached build for this key, or build the year and cache it."""
    import flask_migrate

    from clerkship import demo
    from clerkship.extensions import db

    plan = sizes(STUDENTS, PROGRAMS)
    cached = CACHE / f"scale-{build_key()}"
    started, cpu = time.perf_counter(), time.process_time()
    if (cached / "year.dump").is_file():
        subprocess.run(  # noqa: S603 - PostgreSQL's own client
            [_tool("pg_restore"), "--no-owner", "-d", _libpq(url), str(cached / "year.dump")],
            check=True,
        )
        emit(
            "(g) demo year restored from the cache",
            students=STUDENTS,
            programs=plan,
            cache=cached.name,
            seconds=round(time.perf_counter() - started, 1),
        )
        return
    with app.app_context():
        flask_migrate.upgrade()
        for number, size in enumerate(plan, start=1):
            demo.build_demo_year(students=size, seed=2026 + number, program=number)
            db.session.commit()
        db.session.remove()
    emit(
        "(g) demo year built on PostgreSQL",
        students=STUDENTS,
        programs=plan,
        seconds=round(time.perf_counter() - started),
        cpu_seconds_this_process=round(time.process_time() - cpu),
        loadavg=round(os.getloadavg()[0], 2),
    )
    partial = CACHE / f"{cached.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    subprocess.run(  # noqa: S603 - PostgreSQL's own client
        [_tool("pg_dump"), "-Fc", "--no-owner", "--file", str(partial / "year.dump"), _libpq(url)],
        check=True,
    )
    # The year's signatures are keyed: the restored data verifies only with this key.
    shutil.copy2(folder / "signing-key.json", partial / "signing-key.json")
    shutil.rmtree(cached, ignore_errors=True)
    partial.rename(cached)  # a run cut short leaves only a ".partial" folder behind


def _restore_key(folder: Path) -> None:
    cached = CACHE / f"scale-{build_key()}"
    if (cached / "signing-key.json").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(cached / "signing-key.json", folder / "signing-key.json")


def _programs(app) -> list[dict]:
    from sqlalchemy import func, select

    from clerkship.extensions import db
    from clerkship.models import AssessmentCycle, Cohort, CycleStatus, Enrollment, Program

    with app.app_context():
        found = []
        for program in db.session.scalars(select(Program).order_by(Program.id)):
            cohort = db.session.scalar(select(Cohort).where(Cohort.program_id == program.id))
            students = select(Enrollment.student_id).where(Enrollment.cohort_id == cohort.id)
            counts = db.session.execute(
                select(AssessmentCycle.student_id, func.count())
                .where(
                    AssessmentCycle.status == CycleStatus.SIGNED,
                    AssessmentCycle.student_id.in_(students),
                )
                .group_by(AssessmentCycle.student_id)
                .order_by(func.count(), AssessmentCycle.student_id)
            ).all()
            found.append(
                {
                    "program": program.name,
                    "cohort": cohort.id,
                    "students": db.session.scalar(
                        select(func.count()).select_from(students.subquery())
                    ),
                    "director": program.directors[0].email,
                    "median_student": counts[len(counts) // 2][0],
                }
            )
        db.session.remove()
    return found


@contextlib.contextmanager
def consumers(count: int, folder: Path, database_url: str):
    """``count`` worker processes: one consumer up to 2, then one more consumer (with its own
    instance folder) for each further 2."""
    processes = []
    for index, start in enumerate(range(0, count, 2)):
        instance = folder / f"machine-{index}"
        _copy_keys(folder, instance)
        env = dict(
            os.environ,
            DATABASE_URL=database_url,
            REDIS_URL=REDIS_URL,
            CLERKSHIP_ENV="testing",
            CLERKSHIP_INSTANCE_PATH=str(instance),
            CLERKSHIP_EXPORT_DIR=str(folder / "exports"),  # shared, as a network folder
        )
        for key in ("CLERKSHIP_SIGNING_KEY_FILE", "CLERKSHIP_PDF_SIGNING_CERT"):
            env.pop(key, None)
        log = (folder / f"worker-{index}.log").open("w")
        processes.append(
            subprocess.Popen(  # noqa: S603 - our own consumer
                [
                    *(sys.executable, "-m", "huey.bin.huey_consumer", "clerkship.tasks.huey"),
                    *("--workers", str(min(2, count - start)), "--worker-type", "process"),
                    *("--delay", "0.1", "--max-delay", "1", "--quiet"),
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    try:
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _export(app, cohort_id: int, director_email: str) -> tuple[float, int]:
    """As a director does it: the export form (with its double-submit token), then the job
    page's status polling until every document is done."""
    client = pages._signed_in(app, director_email)
    started = time.perf_counter()
    response = client.post(
        f"/cohorts/{cohort_id}/export", data={"submission": secrets.token_urlsafe(24)}
    )
    assert response.status_code == 302, (response.status_code, response.text[:500])
    status_url = response.headers["Location"].rstrip("/") + "/status"
    while True:
        state = client.get(status_url)
        assert state.status_code == 200, (state.status_code, state.text[:300])
        if state.json["finished"]:
            assert state.json["status"] == "done", state.json
            return time.perf_counter() - started, state.json["done"]
        time.sleep(0.25)


def _forget_renderings(app) -> None:
    from sqlalchemy import update

    from clerkship.extensions import db
    from clerkship.models import ExportDocument

    with app.app_context():
        db.session.execute(update(ExportDocument).values(cache_key=None, records_stamp=None))
        db.session.commit()
        db.session.remove()


def _verified(app, folder: Path) -> tuple[int, int]:
    """(PDFs of the newest export, how many verify against the school's certificate)."""
    from sqlalchemy import select

    from clerkship import pdf_signing
    from clerkship.extensions import db
    from clerkship.models import ExportDocument, ExportJob

    with app.app_context():
        job = db.session.scalar(select(ExportJob).order_by(ExportJob.id.desc()))
        documents = db.session.scalars(
            select(ExportDocument).where(ExportDocument.job_id == job.id)
        ).all()
        good = 0
        for document in documents:
            path = folder / "exports" / (document.path or "")
            if document.path and path.is_file():
                check = pdf_signing.check(path.read_bytes())
                good += bool(check.signed and check.intact and check.trusted)
        db.session.remove()
    return len(documents), good


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="clerkship-scale-"))
    # The web side (this process) queues in the same Redis as the workers.
    os.environ["REDIS_URL"] = REDIS_URL
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    import load_bench as load

    from clerkship import create_app

    _restore_key(folder)
    _keys(folder)
    try:
        with load.fresh_database() as url:
            app = create_app(
                {
                    "ENV": "testing",
                    "SQLALCHEMY_DATABASE_URI": url,
                    "EXPORT_DIR": str(folder / "exports"),
                    "MAIL_BACKEND": "memory",
                    "RATELIMIT_ENABLED": False,
                    "WTF_CSRF_ENABLED": False,
                    "SIGNING_KEY_FILE": str(folder / "signing-key.json"),
                    "PDF_SIGNING_CERT": str(folder / "pdf-signing-cert.pem"),
                    "PDF_SIGNING_KEY": str(folder / "pdf-signing-key.pem"),
                }
            )
            _build(app, url, folder)
            if "--build-only" in sys.argv:
                return
            # The tables as autovacuum keeps them on a school's server: statistics for the
            # planner, and rows marked visible (hint bits, visibility map). A restore or a fresh
            # build has neither, and the first reads would pay for marking them: measured on
            # the 700-student dashboard, p50 108-124 ms after ANALYZE alone, 85 after VACUUM.
            subprocess.run(  # noqa: S603 - PostgreSQL's own client
                [_tool("psql"), "-q", "-c", "VACUUM ANALYZE", _libpq(url)], check=True
            )
            programs = _programs(app)
            for program in programs:
                dashboard = f"/cohorts/{program['cohort']}/dashboard"
                for kept, how in ((False, "made each time"), (True, "kept")):
                    board = pages._page_timings(app, dashboard, program["director"], kept=kept)
                    emit(
                        f"(g) cohort dashboard, {program['students']} students, {how}",
                        **board,
                        target_p95_ms=TARGET_DASHBOARD_P95_MS,
                        met=board["p95_ms"] <= TARGET_DASHBOARD_P95_MS,
                    )
                emit(
                    f"(g) portfolio page, a median student of {program['students']}",
                    **pages._page_timings(
                        app, f"/portfolios/{program['median_student']}", program["director"]
                    ),
                )
            last = programs[-1]
            base = None
            for count in WORKERS:
                _forget_renderings(app)
                with consumers(count, folder, url):
                    seconds, done = _export(app, last["cohort"], last["director"])
                documents, good = _verified(app, folder)
                base = base or seconds  # the first run's time (one worker)
                emit(
                    f"(g) cohort export, cold, {count} worker process(es)",
                    students=done,
                    seconds=round(seconds, 1),
                    pdfs_per_minute=round(done / seconds * 60, 1),
                    speed_up_over_1=round(base / seconds, 2) if WORKERS[0] == 1 else None,
                    pdfs=documents,
                    pdfs_verifying=good,
                    machines=(count + 1) // 2,
                    loadavg=round(os.getloadavg()[0], 2),
                )
            with app.app_context():
                from clerkship.extensions import db

                db.engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
