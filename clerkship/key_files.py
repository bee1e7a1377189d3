"""Key files written on this machine: the signing key, and the development PDF and SAML keys.

Several processes start at once (web workers, the export worker, a CLI command), and on a new
machine each would find no key and make its own: one would sign with a key another process
then replaced. So a key file is looked for and made while holding a lock on its folder, and it
is written whole under a name no other process uses, then renamed into place.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".clerkship-keys.lock"


@contextlib.contextmanager
def writing(folder: Path) -> Iterator[None]:
    """One process at a time looks for, makes or rotates the key files in ``folder``.

    The lock belongs to the open file, so a process killed while holding it releases it."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` at once, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
