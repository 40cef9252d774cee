"""One exclusive lock per store (``root/.lock``), held by a whole run or by a single write.

Why: Delta Lake detects two concurrent overwrites of one table (the loser gets `CommitFailedError`),
but two *builds* interleaving writes across many tables would leave a store that matches neither.
A run holds this lock from start to finish; a write outside a run takes it for its own duration.

`fcntl.flock` is released by the kernel when the holder dies (even by SIGKILL), so a lock is never
stale. The holder writes one human-readable line into the file, which a waiter quotes when it gives
up. Within one process the lock is re-entrant (counted), so a run and its writes share it (and two
threads of one process share it too: runs of one plan on one store are serialized by the driver's
own lock instead). Local file systems only: flock over NFS is not reliable.

What a second build sees: it waits for the lock (logging once, at WARNING, who holds it) up to its
timeout (`DeltaStore.lock_timeout_s`, 30 s by default), then fails with `StoreBusyError`
("store is busy: ... locked by pid N on HOST (cpg build RUN) since T; gave up after waiting 30 s").
`CPG_STORE_LOCK_TIMEOUT=<seconds>` in the environment replaces every configured wait: 0 fails fast,
a large value queues builds behind each other.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cpg_core.store.errors import StoreBusyError, StoreError

DEFAULT_LOCK_TIMEOUT_S = 30.0  # seconds a build waits for another build's store lock

_POLL_S = 0.05
TIMEOUT_ENV = "CPG_STORE_LOCK_TIMEOUT"
_log = logging.getLogger(__name__)


@dataclass
class _Held:
    fd: int
    count: int
    owner: str


_held: dict[Path, _Held] = {}
_key_locks: dict[Path, threading.Lock] = {}
_guard = threading.Lock()


def _key_lock(key: Path) -> threading.Lock:
    """Serializes this process's bookkeeping for one lock file (threads never flock each other)."""
    with _guard:
        return _key_locks.setdefault(key, threading.Lock())


def holder_text(lock_path: Path) -> str:
    """What the current holder wrote about itself ('' when unknown)."""
    try:
        return lock_path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def effective_timeout(timeout_s: float) -> float:
    """`timeout_s`, unless $CPG_STORE_LOCK_TIMEOUT names another wait (an operator's override)."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return timeout_s
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also rejects nan
        raise StoreError(f"{TIMEOUT_ENV} must be a number of seconds >= 0, not {raw!r}")
    return value


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def store_lock(lock_path: Path, owner: str, timeout_s: float) -> Iterator[None]:
    """Hold the store lock; wait up to `timeout_s` (or $CPG_STORE_LOCK_TIMEOUT), then raise
    `StoreBusyError` naming the holder."""
    key = lock_path.resolve()
    with _key_lock(key):
        held = _held.get(key)
        if held is not None:
            held.count += 1
        else:
            held = _held[key] = _acquire(key, owner, effective_timeout(timeout_s))
    try:
        yield
    finally:
        with _key_lock(key):
            held.count -= 1
            if held.count == 0:
                del _held[key]
                os.ftruncate(held.fd, 0)
                os.close(held.fd)  # closing the descriptor releases the flock


def _acquire(key: Path, owner: str, timeout_s: float) -> _Held:
    key.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    deadline = time.monotonic() + max(timeout_s, 0.0)
    waiting = False
    while not _try_flock(fd):
        if time.monotonic() >= deadline:
            os.close(fd)
            holder = holder_text(key) or "an unknown process"
            raise StoreBusyError(
                f"store is busy: {key.parent} is locked by {holder}; "
                f"gave up after waiting {timeout_s:g} s (retry when that run has finished, "
                f"or wait longer: {TIMEOUT_ENV}=<seconds>)"
            )
        if not waiting:
            waiting = True
            _log.warning(
                "store %s is busy (locked by %s): waiting up to %g s",
                key.parent,
                holder_text(key) or "an unknown process",
                timeout_s,
            )
        time.sleep(_POLL_S)
    since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    line = f"pid {os.getpid()} on {socket.gethostname()} ({owner}) since {since}\n"
    os.ftruncate(fd, 0)
    os.pwrite(fd, line.encode(), 0)
    return _Held(fd=fd, count=1, owner=owner)
