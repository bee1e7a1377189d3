"""Portfolio fixtures: a signed-off demo student, immediate-mode tasks, a real worker."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from clerkship import demo, tasks
from tests.conftest import SIGNING_ENVIRONMENT, people_by_name

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def immediate_queue():
    """Tasks run inside the request, as if a worker took them at once (unit tests only)."""
    tasks.huey.immediate = True
    try:
        yield tasks.huey
    finally:
        tasks.huey.immediate = False


@pytest.fixture
def demo_year(db):
    demo.build_demo_year(students=3)
    db.session.commit()
    return people_by_name()


def worker_env(database_url: str, export_dir: str, instance: str, **settings) -> dict:
    """The environment a worker process reads (``settings`` become ``CLERKSHIP_<NAME>``)."""
    return dict(
        os.environ,
        DATABASE_URL=database_url,
        CLERKSHIP_ENV="testing",
        CLERKSHIP_INSTANCE_PATH=instance,
        CLERKSHIP_EXPORT_DIR=export_dir,
        # The worker checks signatures before it prints them and signs the PDF.
        **SIGNING_ENVIRONMENT,
        **{f"CLERKSHIP_{name}": str(value) for name, value in settings.items()},
    )


def start_consumer(env: dict, log, workers: int = 2) -> subprocess.Popen:
    """A real Huey consumer (and its worker processes), on the same queue as this test run."""
    return subprocess.Popen(  # noqa: S603 - our own consumer, fixed arguments
        [
            sys.executable,
            "-m",
            "huey.bin.huey_consumer",
            "clerkship.tasks.huey",
            "--workers",
            str(workers),
            "--worker-type",
            "process",
            "--delay",
            "0.1",
            "--max-delay",
            "0.5",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop_consumer(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def export_worker(database_url: str, export_dir: str, workers: int = 2):
    """A real Huey consumer in its own processes, on the same queue as this test run."""
    with tempfile.TemporaryDirectory(prefix="clerkship-worker-") as instance:
        env = worker_env(database_url, export_dir, instance)
        log = Path(instance) / "worker.log"
        with log.open("w") as out:
            process = start_consumer(env, out, workers)
            try:
                yield process
            finally:
                stop_consumer(process)
            # Shown by pytest when the test fails: what the worker said.
            print(log.read_text()[-5000:])
