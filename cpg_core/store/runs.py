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

import datetime as dt
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import msgspec

from cpg_core.store.atomic import atomic_write

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
