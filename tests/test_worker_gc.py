"""A task worker builds its app once and then keeps the garbage collector off what it loaded."""

import os
import subprocess
import sys
from pathlib import Path

from clerkship import collector

ROOT = Path(__file__).resolve().parents[1]
PROBE = (
    "import gc, sys; from clerkship import tasks; tasks._app(); "
    "print(gc.get_freeze_count(), gc.get_threshold()[0], 'weasyprint' in sys.modules)"
)


def test_worker_freezes_what_it_loaded_and_collects_less_often(tmp_path):
    # A process of its own: freezing is for the whole process, and a worker's app is built
    # outside any app context, as huey_consumer does it.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {
        "CLERKSHIP_ENV": "development",
        "CLERKSHIP_INSTANCE_PATH": str(tmp_path),
        "CLERKSHIP_QUEUE_PATH": str(tmp_path / "queue.sqlite3"),
    }
    probe = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    frozen, threshold, weasyprint_loaded = probe.stdout.split()
    # The app, its extensions and WeasyPrint: well over a hundred thousand objects.
    assert int(frozen) > 100_000
    assert int(threshold) == collector.YOUNG_THRESHOLD
    assert weasyprint_loaded == "True"
