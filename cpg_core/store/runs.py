"""Incremental state, recorded only after a run succeeds: ``root/_cpg/state.msgpack``.

Why: the system this replaces wrote incremental state before the run had succeeded, so a failed
run poisoned the next one. Here the state (dataset → data version, fingerprint, Delta version) is
written once, by `commit_run`, at the end of a successful run: temp file, fsync, `os.replace`,
fsync of the directory (`atomic_write`, which the other small files of the store use too). A run
killed at any point leaves the previous state file, and its temp file is removed by the next write.

The file is ``MAGIC + sha256(body) + body`` (msgpack). A file that is truncated, bit-flipped or of
another format is reported (`LoadedState.warning`) and treated as "no state" — never trusted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import msgspec

STATE_FILE: Final = Path("_cpg") / "state.msgpack"
MAGIC: Final = b"CPGSTATE\x01"
_DIGEST_SIZE: Final = 32


class DatasetState(msgspec.Struct, frozen=True, kw_only=True):
    """What a successful run left for one dataset."""

    data_version: str
    fingerprint: str
    delta_version: int


class RunState(msgspec.Struct, frozen=True, kw_only=True):
    """The store's incremental state after the last successful run."""

    run_id: str
    plan_signature: str
    committed_at: dt.datetime
    datasets: dict[str, DatasetState] = msgspec.field(default_factory=dict)


class LoadedState(msgspec.Struct, frozen=True):
    """`state` is None when there is none or it cannot be trusted; `warning` then says why."""

    state: RunState | None
    warning: str | None = None


def state_path(root: Path) -> Path:
    return Path(root) / STATE_FILE


def load_state(root: Path) -> LoadedState:
    """The last committed state; a missing file is silent, a damaged one comes with a warning."""
    path = state_path(root)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return LoadedState(None)
    except OSError as exc:
        return LoadedState(None, f"incremental state {path} is unreadable ({exc}); rebuilding")
    header = len(MAGIC) + _DIGEST_SIZE
    if len(data) < header or not data.startswith(MAGIC):
        return LoadedState(None, f"incremental state {path} has an unknown format; rebuilding")
    digest, body = data[len(MAGIC) : header], data[header:]
    if hashlib.sha256(body).digest() != digest:
        return LoadedState(None, f"incremental state {path} is corrupt (checksum); rebuilding")
    try:
        return LoadedState(msgspec.msgpack.decode(body, type=RunState))
    except msgspec.DecodeError as exc:
        return LoadedState(None, f"incremental state {path} does not decode ({exc}); rebuilding")


def commit_run(
    root: Path,
    *,
    run_id: str,
    plan_signature: str,
    datasets: Mapping[str, DatasetState],
    replace: bool = False,
) -> RunState:
    """Record a successful run: its datasets merged over the previous state (or replacing it).

    Call this last, after every output is written; a selection build merges only what it built.
    """
    previous = None if replace else load_state(root).state
    merged = dict(previous.datasets) if previous is not None else {}
    merged.update(datasets)
    state = RunState(
        run_id=run_id,
        plan_signature=plan_signature,
        committed_at=dt.datetime.now(dt.UTC),
        datasets=dict(sorted(merged.items())),
    )
    body = msgspec.msgpack.encode(state)
    atomic_write(state_path(root), MAGIC + hashlib.sha256(body).digest() + body)
    return state


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
