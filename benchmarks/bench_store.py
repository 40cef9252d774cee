"""Store throughput: content_hash and write MB/s on a shuffled 2M-row table with strings.

Run: ``.venv/bin/python -m benchmarks.bench_store [ROWS] [--json]``.
MB are Arrow in-memory bytes (`Table.nbytes`) of the input table.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from benchmarks.harness import benchmark_parser, best_of, emit
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


def run(rows: int) -> dict[str, Any]:
    """Best of 2 of each step over one table; MB/s of its Arrow bytes."""
    table = bench_table(rows)
    mb = table.nbytes / 1e6
    steps: dict[str, float] = {}

    def measure(label: str, fn: Callable[[], object]) -> None:
        steps[label], _, _ = best_of(2, fn)

    typed = to_store_types(table)
    order = canonical_order(typed)
    ordered = typed.take(order)
    measure("canonical order (sort_indices)", lambda: canonical_order(typed))
    measure("take into canonical order", lambda: typed.take(order))
    measure("hash canonical streams (sha256)", lambda: hash_canonical(ordered))
    measure("content_hash (all of the above)", lambda: canonicalize(table).data_version)
    canonical = canonicalize(table)
    with tempfile.TemporaryDirectory() as root:
        store = DeltaStore(Path(root))
        counter = iter(range(100))
        measure(
            "write (canonical, ZSTD Parquet)",
            lambda: store.write(f"t{next(counter)}", canonical, fingerprint="f", run_id="b"),
        )
        measure(
            "write (from unsorted, incl. hash)",
            lambda: store.write(f"t{next(counter)}", table, fingerprint="f", run_id="b"),
        )
        measure(
            "skip-unchanged write (data_version)",
            lambda: store.write(
                "t0", table, fingerprint="f", data_version=canonical.data_version, run_id="b"
            ),
        )
        measure("read", lambda: store.read("t0"))
        info = store.info("t0")
        assert info is not None
        on_disk_mb = info.bytes / 1e6
    return {
        "rows": rows,
        "columns": table.num_columns,
        "arrow_mb": mb,
        "seconds": steps,
        "mb_per_s": {label: mb / seconds for label, seconds in steps.items()},
        "on_disk_mb": on_disk_mb,
    }


def render(result: dict[str, Any]) -> str:
    """One line per step: best seconds and MB/s."""
    mb = result["arrow_mb"]
    out = [f"{result['rows']:,} rows, {result['columns']} columns, {mb:.0f} MB (Arrow)"]
    for label, seconds in result["seconds"].items():
        out.append(f"{label:<34} {seconds:6.2f} s  {result['mb_per_s'][label]:7.0f} MB/s")
    out.append(f"on disk: {result['on_disk_mb']:.0f} MB Parquet for {mb:.0f} MB Arrow")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("rows", type=int, nargs="?", default=2_000_000)
    args = parser.parse_args(argv)
    emit(run(args.rows), as_json=args.json, render=render)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
