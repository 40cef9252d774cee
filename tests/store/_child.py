"""Subprocess helper for the store tests: real processes that write, race, die or run out of disk.

Run as ``python -m tests.store._child COMMAND STORE_ROOT [ARGS]``; it prints one status line.
"""

from __future__ import annotations

import random
import resource
import signal
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.errors import StoreBusyError, StoreConflictError, StoreWriteError


def big_table(rows: int, tag: str, *, seed: int | None = None) -> pa.Table:
    """A table with strings, built without a Python loop over rows (shuffled if `seed` is set)."""
    ids = pa.array(range(rows), type=pa.int64())
    if seed is not None:
        order = list(range(rows))
        random.Random(seed).shuffle(order)
        ids = ids.take(pa.array(order))
    # by name: pyarrow.compute's kernels are generated at import time, invisible to pyright
    suffix = pa.scalar(f"-{tag}-padding-to-make-it-bigger")
    text = pc.call_function("binary_join_element_wise", [pc.cast(ids, pa.string()), suffix, ""])
    kind = pc.cast(pc.call_function("bit_wise_and", [ids, pa.scalar(7, pa.int64())]), pa.string())
    return pa.table({"id": ids, "name": text, "kind": kind})


def say(text: str) -> None:
    print(text, flush=True)


def main(argv: list[str]) -> int:
    command, root = argv[0], Path(argv[1])
    if command == "write_big":  # write a large table (an Arrow file); the parent kills us inside
        with pa.memory_map(argv[2]) as source:
            table = pa.ipc.open_file(source).read_all().slice(int(argv[3]))  # new content each time
        store = DeltaStore(root)
        say("writing")
        store.write("big", table, fingerprint="fp-big", run_id="child")
        say("done")
        return 0
    if command == "write_loop":  # write distinct contents N times; report the outcome of each
        count, tag = int(argv[2]), argv[3]
        store = DeltaStore(root, lock_timeout_s=60)
        outcomes = []
        for i in range(count):
            try:
                store.write("shared", big_table(1000 + i, tag), fingerprint=tag, run_id=f"{tag}{i}")
                outcomes.append("ok")
            except StoreConflictError:
                outcomes.append("conflict")
        say(" ".join(outcomes))
        return 0
    if command == "write_busy":  # the parent holds the run lock: we must fail clearly
        store = DeltaStore(root, lock_timeout_s=float(argv[2]))
        start = time.monotonic()
        try:
            store.write("t", big_table(10, "busy"), fingerprint="f", run_id="busy")
        except StoreBusyError as exc:
            say(f"busy after {time.monotonic() - start:.2f}s: {exc}")
            return 0
        say("written")
        return 0
    if command == "write_disk_full":  # files may not grow past LIMIT bytes: a full disk
        limit = int(argv[2])
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of dying
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        store = DeltaStore(root)
        try:
            store.write("t", big_table(200_000, "full"), fingerprint="f", run_id="full")
        except StoreWriteError as exc:
            say(f"write error: {exc}")
            return 0
        say("written")
        return 0
    raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
