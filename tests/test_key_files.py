"""Key files made on first start: one key, whatever the number of processes starting at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from clerkship import key_files, signing_keys

ROOT = Path(__file__).resolve().parents[1]

# What a process prints about the keys it started with: the signing key's id and the PDF and
# SAML certificates it found (or made).
REPORT = """
import hashlib, pathlib, sys
from clerkship import create_app, signing_keys
from clerkship.sso import saml
app = create_app()
with app.app_context():
    key, cert = saml.key_pair()
    folder = pathlib.Path(app.instance_path)
    print(signing_keys.ring().kid,
          hashlib.sha256((folder / "pdf-signing-cert.pem").read_bytes()).hexdigest(),
          hashlib.sha256(pathlib.Path(cert).read_bytes()).hexdigest())
"""


def _start(instance: Path) -> subprocess.Popen:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("CLERKSHIP_SIGNING", "CLERKSHIP_PDF_SIGNING", "CLERKSHIP_SAML"))
    }
    env.update(
        CLERKSHIP_ENV="testing",
        CLERKSHIP_INSTANCE_PATH=str(instance),
        DATABASE_URL=f"sqlite:///{instance / 'unused.db'}",
    )
    return subprocess.Popen(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", REPORT],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_processes_starting_together_on_a_new_machine_all_use_one_set_of_keys(tmp_path):
    runs = [_start(tmp_path) for _ in range(5)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * 5, outputs
    reports = {output.strip().splitlines()[-1] for output in outputs}
    assert len(reports) == 1, reports
    kid = reports.pop().split()[0]
    assert signing_keys.read(tmp_path / "signing-key.json").kid == kid
    left = sorted(path.name for path in tmp_path.iterdir() if path.name.endswith(".new"))
    assert left == []  # no scratch file left behind
    assert (tmp_path / "signing-key.json").stat().st_mode & 0o077 == 0
    assert (tmp_path / "pdf-signing-key.pem").stat().st_mode & 0o077 == 0


def _waits_for_a_lock(run: subprocess.Popen, seconds: float = 60) -> bool:
    """True once the kernel lists ``run`` as waiting for a file lock (Linux /proc/locks)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and run.poll() is None:
        waiting = Path("/proc/locks").read_text().splitlines()
        if any("->" in line and str(run.pid) in line.split() for line in waiting):
            return True
        time.sleep(0.05)
    return False


def test_a_process_waits_while_another_one_is_making_the_keys(tmp_path):
    with key_files.writing(tmp_path):
        run = _start(tmp_path)
        assert _waits_for_a_lock(run)
        assert not (tmp_path / "signing-key.json").exists()
        made_first = tmp_path / "first" / "signing-key.json"
        signing_keys.create(made_first)  # as the process holding the lock would
        key_files.write_private(tmp_path / "signing-key.json", made_first.read_bytes())
    output = run.communicate(timeout=120)[0]
    assert run.returncode == 0, output
    made_here = signing_keys.read(tmp_path / "signing-key.json").kid
    assert output.split()[-3] == made_here  # it used the key made first, not one of its own


def test_rotations_at_the_same_moment_each_keep_the_key_they_retired(tmp_path):
    path = tmp_path / "signing-key.json"
    signing_keys.create(path)
    first = signing_keys.read(path).kid
    start = threading.Barrier(6)
    done: list[tuple[str, str]] = []

    def rotate() -> None:
        start.wait()
        done.append(signing_keys.rotate(path))

    threads = [threading.Thread(target=rotate) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ring = signing_keys.read(path)
    retired = [entry["kid"] for entry in json.loads(path.read_text())["retired"]]
    assert len(retired) == len(set(retired)) == 6
    assert first in retired
    assert {old for old, _ in done} == set(retired)  # every key ever current still verifies
    assert ring.kid not in retired
