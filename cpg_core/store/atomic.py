"""Atomic small-file writes: after a crash a file holds its old bytes or its new ones, never half.

Why one module at the bottom of the store layer: the run state, measured durations, compile
cache, generated plan modules and plan files all need the same write, and the compiler and
codegen may use the store layer but nothing above it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path


def atomic_write(path: Path, data: bytes, *, legacy_prefix: str | None = None) -> None:
    """Write-then-rename with fsyncs: after a crash the file holds the old bytes or the new ones.

    The temp file is named after this process (``.<name>.<pid>.<random>.tmp``). Temp files left
    by processes that died mid-write (SIGKILL) are removed first; those of live processes are
    left alone, so callers need no lock to stay safe, and killed writers leave no garbage behind
    for longer than until the next write (`legacy_prefix`: see `remove_stale_temps`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path, legacy_prefix)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def remove_stale_temps(path: Path, legacy_prefix: str | None = None) -> None:
    """Remove temp files of `path` whose writer is dead (``.<name>.<pid>.*.tmp``).

    `legacy_prefix` also removes temp files of older versions that carried no pid (their writers
    wrote the whole file in milliseconds: anything there for a minute is left over).
    """
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        pid = stale.name[len(path.name) + 2 :].split(".", 1)[0]
        if not pid.isdigit() or not _alive(int(pid)):
            stale.unlink(missing_ok=True)
    if legacy_prefix is not None:
        horizon = time.time() - 60
        for stale in path.parent.glob(f"{legacy_prefix}*"):
            with contextlib.suppress(OSError):
                if not stale.name.endswith(".tmp") and stale.stat().st_mtime < horizon:
                    stale.unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of ours may be writing it (failed writes remove theirs)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
