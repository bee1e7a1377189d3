"""The export folder: files appear whole or not at all.

Every file is written to a temporary name beside its target and renamed when complete, so a
worker killed mid-write, a full disk or a read-only folder never leaves a truncated PDF or
ZIP under a real name. A full or unwritable folder becomes :class:`FolderError` with a reason
a program director can read; other disk errors stay ``OSError`` (transient: tried again).
"""

from __future__ import annotations

import errno
import os
import time
import uuid
import zipfile
from collections.abc import Iterable
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

TEMP_MARK = ".part-"
FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
UNWRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}


class FolderError(Exception):
    """The export folder is full or cannot be written: retrying will not help."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def folder_error(error: OSError) -> FolderError | None:
    if error.errno in FULL:
        return FolderError(_("The export folder is full. Ask your administrator to free space."))
    if error.errno in UNWRITABLE:
        return FolderError(
            _("The export folder cannot be written. Ask your administrator to check it.")
        )
    return None


def export_dir() -> Path:
    configured = current_app.config.get("EXPORT_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "exports"
    _guard(lambda: path.mkdir(parents=True, exist_ok=True))
    return path


def _guard(write):
    try:
        return write()
    except OSError as error:
        problem = folder_error(error)
        if problem is not None:
            raise problem from error
        raise


def _temporary(target: Path) -> Path:
    return target.with_name(f"{target.name}{TEMP_MARK}{uuid.uuid4().hex[:12]}")


def _atomically(relative: Path, write) -> Path:
    """``write(temp)``, then rename temp onto ``relative``: the target is whole or absent."""
    target = export_dir() / relative
    _guard(lambda: target.parent.mkdir(parents=True, exist_ok=True))
    temp = _temporary(target)
    try:
        _guard(lambda: write(temp))
        _guard(lambda: os.replace(temp, target))
    finally:
        temp.unlink(missing_ok=True)
    return target


def write_bytes(relative: Path, data: bytes) -> Path:
    def write(temp: Path) -> None:
        with temp.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())

    return _atomically(relative, write)


def write_zip(
    relative: Path, files: Iterable[tuple[Path, str]], extra: dict[str, str], pause: float = 0
) -> Path:
    """A ZIP of ``(source, name)`` files plus ``extra`` text entries (``name: text``);
    ``pause`` seconds before each file (EXPORT_PACK_DELAY_SECONDS, for fault tests)."""

    def write(temp: Path) -> None:
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as bundle:
            for source, name in files:
                time.sleep(pause)
                # Stored as they are: a PDF's streams are compressed already, so deflating
                # them again took most of a pack's time for a few per cent of its size.
                bundle.write(source, name, compress_type=zipfile.ZIP_STORED)
            for name, text in extra.items():
                bundle.writestr(name, text)
        with temp.open("rb") as written:
            os.fsync(written.fileno())

    return _atomically(relative, write)


def copy(source: Path, relative: Path) -> Path:
    return write_bytes(relative, source.read_bytes())


def remove(relative: str | Path | None) -> None:
    if relative:
        (export_dir() / relative).unlink(missing_ok=True)


def remove_temporaries(folder: Path) -> int:
    """Temp files in ``folder`` (relative): for a writer holding the folder's lease, whose
    predecessor (killed mid-write, its lease expired) left them."""
    removed = 0
    for path in (export_dir() / folder).glob(f"*{TEMP_MARK}*"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def remove_stale_temporaries(older_than_seconds: float) -> int:
    """Temp files a killed worker left behind (never a file another worker is writing now)."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in export_dir().rglob(f"*{TEMP_MARK}*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
