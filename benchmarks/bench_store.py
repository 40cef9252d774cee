"""Store throughput: content_hash and write MB/s on a shuffled 2M-row table with strings.

Run: ``.venv/bin/python -m benchmarks.bench_store [ROWS]`` (not collected by pytest).
MB are Arrow in-memory bytes (`Table.nbytes`) of the input table.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from cpg_core.store.content_hash import (
    canonical_order,
    canonicalize,
    hash_canonical,
    to_store_types,
)
from cpg_core.store.delta_store import DeltaStore
from tests.store._child import big_table


def bench_table(rows: int) -> pa.Table:
    """id, name (~35-byte strings), kind, plus a low-cardinality file path and a line number."""
    table = big_table(rows, "bench", seed=7)
    files = pa.array([f"src/pkg/module_{i % 3000:04d}.py" for i in range(rows)])
    lines = pa.array([(i * 7919) % 5000 for i in range(rows)], pa.int32())
    return table.append_column("file", files).append_column("line", lines)


def timed(label: str, mb: float, fn: object) -> float:
    assert callable(fn)
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<34} {best:6.2f} s  {mb / best:7.0f} MB/s")
    return best


def main(rows: int) -> None:
    table = bench_table(rows)
    mb = table.nbytes / 1e6
    print(f"{rows:,} rows, {table.num_columns} columns, {mb:.0f} MB (Arrow)")
    typed = to_store_types(table)
    order = canonical_order(typed)
    ordered = typed.take(order)
    timed("canonical order (sort_indices)", mb, lambda: canonical_order(typed))
    timed("take into canonical order", mb, lambda: typed.take(order))
    timed("hash canonical streams (sha256)", mb, lambda: hash_canonical(ordered))
    timed("content_hash (all of the above)", mb, lambda: canonicalize(table).data_version)
    canonical = canonicalize(table)
    with tempfile.TemporaryDirectory() as root:
        store = DeltaStore(Path(root))
        counter = iter(range(100))
        timed(
            "write (canonical, ZSTD Parquet)",
            mb,
            lambda: store.write(f"t{next(counter)}", canonical, fingerprint="f", run_id="b"),
        )
        timed(
            "write (from unsorted, incl. hash)",
            mb,
            lambda: store.write(f"t{next(counter)}", table, fingerprint="f", run_id="b"),
        )
        timed(
            "skip-unchanged write (data_version)",
            mb,
            lambda: store.write(
                "t0", table, fingerprint="f", data_version=canonical.data_version, run_id="b"
            ),
        )
        timed("read", mb, lambda: store.read("t0"))
        info = store.info("t0")
        assert info is not None
        print(f"on disk: {info.bytes / 1e6:.0f} MB Parquet for {mb:.0f} MB Arrow")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000)
