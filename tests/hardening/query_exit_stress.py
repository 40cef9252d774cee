"""Run many `cpg query` processes and count every exit that is not a clean 0 (abort, crash, hang).

The store is made to expose exit-time races: besides a small cpg-written table it holds one
Delta table of many files, and the queries include `LIMIT 1` over it, which stops a scan while
more files are in flight. `--compare-datasets` also runs the same queries the way `cpg query`
did before (tables registered as Arrow datasets), so the race is shown on this machine in the
same command; see docs/cli.md.

    .venv/bin/python -m tests.hardening.query_exit_stress [--runs 400] [--jobs 2] [--compare-datasets]

Exit status 1 when any `cpg query` run did not exit cleanly with the right output.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

import pyarrow as pa
from deltalake import write_deltalake

from cpg_core.store.delta_store import DeltaStore

FILES: Final = 40  # files of the `events_log` table (one append each)
ROWS_PER_FILE: Final = 1000
TIMEOUT_S: Final = 120.0  # a run still going after this is a hang
# (SQL, expected JSON lines) — rotated over the runs
QUERIES: Final[tuple[tuple[str, list[dict[str, object]]], ...]] = (
    # LIMIT stops the scan with more files in flight (any one row: count it)
    ("select count(*) as n from (select * from events_log limit 1) t", [{"n": 1}]),
    ("select count(*) as n from events_log", [{"n": FILES * ROWS_PER_FILE}]),
    ("select name from small order by name limit 1", [{"name": "a"}]),
    (
        "select s.name, count(*) as n from small s join events_log e on e.seq % 3 = s.id "
        "group by s.name order by s.name",
        [{"name": n, "n": len(range(i, FILES * ROWS_PER_FILE, 3))} for i, n in enumerate("abc")],
    ),
)
# The registration `cpg query` used before: Arrow datasets over the Delta tables.
_DATASET_QUERY: Final = """
import sys
from datafusion import SessionContext
from cpg_core.store.delta_store import DeltaStore
store = DeltaStore(sys.argv[1])
ctx = SessionContext()
for name in store.names():
    ctx.register_dataset(name, store.table(name).to_pyarrow_dataset())
for row in ctx.sql(sys.argv[2]).to_arrow_table().to_pylist():
    print(row)
"""


def make_store(root: Path) -> Path:
    """A store with `small` (written by cpg's store) and `events_log` (FILES Parquet files)."""
    store = DeltaStore(root)
    small = pa.table({"id": pa.array([0, 1, 2], pa.int64()), "name": ["a", "b", "c"]})
    store.write("small", small, fingerprint="stress", run_id="stress")
    path = store.table_path("events_log")
    for part in range(FILES):
        start = part * ROWS_PER_FILE
        seq = pa.array(range(start, start + ROWS_PER_FILE), pa.int64())
        names = pa.array([f"event {i}" for i in range(start, start + ROWS_PER_FILE)])
        write_deltalake(str(path), pa.table({"seq": seq, "name": names}), mode="append")
    return store.root


def cpg_query(store: Path, index: int) -> tuple[int, str]:
    """One `cpg query --format json` process: (exit code, or -1 for a hang; what went wrong)."""
    sql, expected = QUERIES[index % len(QUERIES)]
    command = [sys.executable, "-m", "cpg_core.cli", "query", sql, "--store", str(store)]
    return _run([*command, "--format", "json"], expected)


def dataset_query(store: Path, index: int) -> tuple[int, str]:
    """The same query registered the old way (Arrow datasets); output is not compared."""
    sql, _ = QUERIES[index % len(QUERIES)]
    return _run([sys.executable, "-c", _DATASET_QUERY, str(store), sql], None)


def _run(command: Sequence[str], expected: list[dict[str, object]] | None) -> tuple[int, str]:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return -1, "hang"
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return done.returncode, lines[-1] if lines else f"signal {-done.returncode}"
    if expected is not None:
        rows = [json.loads(line) for line in done.stdout.splitlines()]
        if rows != expected:
            return 0, f"wrong rows {rows}"
    return 0, ""


Outcome = tuple[int, str]


def run_many(
    store: Path, runs: int, jobs: int, one: Callable[[Path, int], Outcome] = cpg_query
) -> collections.Counter[Outcome]:
    """Run `runs` queries, `jobs` at a time; count (exit code, problem) pairs."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = pool.map(lambda i: one(store, i), range(runs))
        return collections.Counter(outcomes)


def _report(label: str, outcomes: collections.Counter[Outcome], seconds: float) -> int:
    runs = sum(outcomes.values())
    bad = runs - outcomes[(0, "")]
    print(f"{label}: {runs} runs in {seconds:.1f} s, {bad} not clean")
    for (code, problem), count in sorted(outcomes.items()):
        print(f"  exit {code:>4} x{count}  {problem}")
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--compare-datasets", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cpg-query-exit-") as tmp:
        store = make_store(Path(tmp) / "store")
        if args.compare_datasets:
            started = time.perf_counter()
            before = run_many(store, args.runs, args.jobs, dataset_query)
            _report("Arrow datasets (before)", before, time.perf_counter() - started)
        started = time.perf_counter()
        outcomes = run_many(store, args.runs, args.jobs)
        bad = _report("cpg query", outcomes, time.perf_counter() - started)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
