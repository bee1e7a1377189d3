"""Portfolio benchmark (``make bench``): one JSON line per figure, never part of ``make test``.

Builds the demo year with 150 students in a temporary SQLite database, then measures:
(a) one median full-year portfolio PDF (seconds, pages, peak RSS of the rendering process);
(b) the same HTML printed by ``chromium --headless --print-to-pdf`` and the ratio (a)/(b);
(a') the same HTML printed by a *warm* Chromium (Playwright, browser started and one warm-up
print before timing), each interleaved with a WeasyPrint render in the same process as the export
workers run it (``render.html_to_pdf``: stylesheet parsed once, tagged PDF/UA), and the ratio;
(c) a cold cohort export of 150 with 2 worker processes; (d) the same export again, unchanged;
(e) p50/p95 server time and SQL query count of the portfolio page and the cohort page.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import STUDENTS, build_demo_year, emit

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _config(folder: Path) -> dict:
    return {
        "ENV": "testing",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
        "EXPORT_DIR": str(folder / "exports"),
        "MAIL_BACKEND": "memory",
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
        # The workers' instance folder is ``folder``: the same signing key and certificate.
        "SIGNING_KEY_FILE": str(folder / "signing-key.json"),
        "PDF_SIGNING_CERT": str(folder / "pdf-signing-cert.pem"),
        "PDF_SIGNING_KEY": str(folder / "pdf-signing-key.pem"),
    }


def _peak_rss_mb(pid: str | int) -> float | None:
    """VmHWM from /proc: the process's own peak (getrusage would report the parent's peak
    for a forked child)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            found.append(int(status.parent.name))
    return found


def _render_child(folder: str, student_id: int, queue) -> None:
    """Render one portfolio in a fresh process, so its peak memory is its own."""
    from clerkship import create_app
    from clerkship.extensions import db
    from clerkship.models import User
    from clerkship.portfolios import data as portfolio
    from clerkship.portfolios import render

    app = create_app(_config(Path(folder)))
    with app.app_context():
        student = db.session.get(User, student_id)
        timings, result = [], None
        for _ in range(3):
            started = time.perf_counter()
            data = portfolio.portfolio_data(student)
            result = render.render_pdf(data, "BNCH-BNCH-BNCH-BNCH", "2026-11-22 00:00 UTC")
            timings.append(time.perf_counter() - started)
        # As the product renders it (the stylesheet parsed once, beside the HTML) and, for
        # Chromium, one file with the stylesheet inlined.
        html = render.print_html(data, "BNCH", "", "bench")
        css = (Path(app.static_folder) / render.STYLESHEET).read_text()
        (Path(folder) / "portfolio-body.html").write_text(html)
        (Path(folder) / "portfolio.html").write_text(
            html.replace("</head>", f"<style>{css}</style></head>", 1)
        )
    queue.put(
        {
            "seconds": statistics.median(timings),
            "pages": result.pages,
            "peak_rss_mb": _peak_rss_mb("self"),
        }
    )


def _chromium_seconds(folder: Path) -> float | None:
    if not Path(CHROMIUM).exists():
        return None
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(  # noqa: S603 - Debian's chromium on our own file
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                f"--print-to-pdf={folder / 'chromium.pdf'}",
                f"file://{folder / 'portfolio.html'}",
            ],
            capture_output=True,
            check=True,
            timeout=120,
        )
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def _warm_chromium_ratio(app, folder: Path, runs: int = 7) -> dict | None:
    """WeasyPrint vs a Chromium that is already running (as a Chromium-based exporter keeps
    it): the same HTML, alternating so both meet the same machine load. Render + write only;
    the school's PAdES signature (about 35 ms) is left out on both sides. WeasyPrint runs as
    the workers run it (``render.html_to_pdf``: the stylesheet parsed once, tagged PDF/UA);
    Chromium gets the same HTML with the stylesheet inlined, printed as it prints by default
    (untagged, no bookmarks: the target's peer) and asked for what ours has (tagged, with an
    outline), both reported."""
    if not Path(CHROMIUM).exists():
        return None
    from playwright.sync_api import sync_playwright

    from clerkship.portfolios import render

    body = (folder / "portfolio-body.html").read_text()
    html = (folder / "portfolio.html").read_text()
    weasy, chrome, chrome_tagged = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        for attempt in range(runs + 1):  # the first round is the warm-up
            started = time.perf_counter()
            with app.app_context():
                render.html_to_pdf(body)
            middle = time.perf_counter()
            page.set_content(html)
            page.pdf(format="A4")
            plain = time.perf_counter()
            page.set_content(html)
            page.pdf(format="A4", tagged=True, outline=True)
            if attempt:
                weasy.append(middle - started)
                chrome.append(plain - middle)
                chrome_tagged.append(time.perf_counter() - plain)
        browser.close()
    return {
        "weasyprint_seconds": round(statistics.median(weasy), 3),
        "chromium_warm_seconds": round(statistics.median(chrome), 3),
        "ratio": round(statistics.median(weasy) / statistics.median(chrome), 2),
        "chromium_warm_tagged_outline_seconds": round(statistics.median(chrome_tagged), 3),
        "ratio_to_tagged": round(statistics.median(weasy) / statistics.median(chrome_tagged), 2),
        "runs": runs,
    }


def _signed_in(app, email: str):
    from clerkship.demo import DEMO_PASSWORD

    client = app.test_client()
    client.post("/sign-in", data={"email": email, "password": DEMO_PASSWORD})
    return client


def _export(app, cohort_id: int, director_email: str) -> tuple[float, int]:
    """As a director does it: the export button, then the job page's status polling (the
    job is queued after the request's commit; each poll is one short request)."""
    client = _signed_in(app, director_email)
    started = time.perf_counter()
    # A create form: sent with its double-submit token, as the page's form does.
    token = secrets.token_urlsafe(24)
    response = client.post(f"/cohorts/{cohort_id}/export", data={"submission": token})
    assert response.status_code == 302, response.status_code
    status_url = response.headers["Location"].rstrip("/") + "/status"
    while True:
        state = client.get(status_url)
        assert state.status_code == 200, (state.status_code, state.text[:300])
        if state.json["finished"]:
            assert state.json["status"] == "done", state.json
            return time.perf_counter() - started, state.json["done"]
        time.sleep(0.25)


def _page_timings(app, path: str, email: str, kept: bool = True) -> dict:
    """p50/p95 of 30 requests and the most SQL statements one made. ``kept=False`` forgets the
    kept pages before each request (clerkship/page_cache.py), so every page is made afresh: the
    figure after a change to the data."""
    from sqlalchemy import event

    from clerkship import collector, page_cache
    from clerkship.extensions import db

    client = _signed_in(app, email)
    pages = page_cache.store(app)
    collector.freeze_loaded()  # as a web worker before it serves (deploy/gunicorn.conf.py)
    with app.app_context():
        engine = db.engine
    statements = []
    listener = lambda *args: statements.append(1)  # noqa: E731
    times, counts = [], []
    for _ in range(30):
        statements.clear()
        if not kept and pages is not None:
            pages.clear()
        event.listen(engine, "before_cursor_execute", listener)
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        event.remove(engine, "before_cursor_execute", listener)
        assert response.status_code == 200, path
        counts.append(len(statements))
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "queries": max(counts),
    }


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="clerkship-bench-"))
    os.environ["CLERKSHIP_QUEUE_PATH"] = str(folder / "queue.sqlite3")
    os.environ.pop("REDIS_URL", None)
    from sqlalchemy import func, select

    from clerkship import create_app
    from clerkship.extensions import db
    from clerkship.models import AssessmentCycle, Cohort, CycleStatus, Program, User

    app = create_app(_config(folder))
    seconds = build_demo_year(app, STUDENTS)
    emit("demo year built", students=STUDENTS, seconds=round(seconds, 1))
    with app.app_context():
        counts = db.session.execute(
            select(AssessmentCycle.student_id, func.count())
            .where(AssessmentCycle.status == CycleStatus.SIGNED)
            .group_by(AssessmentCycle.student_id)
            .order_by(func.count(), AssessmentCycle.student_id)
        ).all()
        median_student = counts[len(counts) // 2][0]
        cohort = db.session.scalar(select(Cohort))
        director = db.session.scalar(select(Program)).directors[0]
        cohort_id, director_email = cohort.id, director.email
        db.session.remove()

    queue = multiprocessing.get_context("spawn").Queue()
    child = multiprocessing.get_context("spawn").Process(
        target=_render_child, args=(str(folder), median_student, queue)
    )
    child.start()
    one = queue.get(timeout=600)
    child.join()
    emit("(a) one median portfolio PDF, WeasyPrint", **one)
    chromium = _chromium_seconds(folder)
    if chromium is not None:
        emit(
            "(b) same HTML, chromium --print-to-pdf",
            seconds=round(chromium, 2),
            ratio_a_over_b=round(one["seconds"] / chromium, 2),
        )
    else:
        emit("(b) chromium not found", seconds=None)
    warm = _warm_chromium_ratio(app, folder)
    if warm is not None:
        emit("(a') same HTML, WeasyPrint vs a warm Chromium (target ratio <= 2.0)", **warm)

    env = dict(
        os.environ,
        DATABASE_URL=_config(folder)["SQLALCHEMY_DATABASE_URI"],
        CLERKSHIP_ENV="testing",
        CLERKSHIP_INSTANCE_PATH=str(folder),
        CLERKSHIP_EXPORT_DIR=str(folder / "exports"),
    )
    worker = subprocess.Popen(  # noqa: S603 - our own consumer
        [
            *(sys.executable, "-m", "huey.bin.huey_consumer", "clerkship.tasks.huey"),
            *("--workers", "2", "--worker-type", "process", "--delay", "0.1", "--max-delay", "1"),
            "--quiet",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        cold, done = _export(app, cohort_id, director_email)
        emit("(c) cohort export, cold, 2 workers", students=done, seconds=round(cold, 1))
        peaks = [_peak_rss_mb(pid) for pid in _children(worker.pid)]
        emit(
            "(c) peak RSS per worker process",
            workers_mb=sorted(p for p in peaks if p is not None),
        )
        warm, done = _export(app, cohort_id, director_email)
        emit("(d) same export again, unchanged", students=done, seconds=round(warm, 2))
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    with app.app_context():
        student = db.session.get(User, median_student)
        student_path = f"/portfolios/{student.id}"
    emit("(e) portfolio HTML page", **_page_timings(app, student_path, director_email))
    emit("(e) cohort page", **_page_timings(app, f"/cohorts/{cohort_id}", director_email))
    emit(
        "(e) cohort dashboard",
        **_page_timings(app, f"/cohorts/{cohort_id}/dashboard", director_email),
    )
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
