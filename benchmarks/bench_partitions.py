"""A partition-incremental view over a 100-partition source: one changed partition vs a full rebuild.

The project (generated, deterministic): `events/` — one Parquet file per day, `--days` days of
`--rows` events each — and a `users` lookup; one view that sessionizes events per user and day
(a join, two windows partitioned by day and user, an aggregate per session). Two twins of it
differ only in the view's `-- @incremental: partition_by = day` line. For each twin, `--repeats`
times, in this process through `build_project` (what `cpg build` runs), into a fresh store:
a cold build, then one day's file rewritten with other events and a rebuild. The target compares
the two rebuilds after the same edit: the incremental twin's (one partition recomputed and
replaced) against the plain twin's (the whole view recomputed and rewritten) — target <= 0.1x.
The incremental store is then checked against a cold build of the edited inputs (same data
versions, table by table).

    .venv/bin/python -m benchmarks.bench_partitions [--days 100] [--rows 20000] [--repeats 3] [--json]
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.harness import (
    add_repeats,
    benchmark_parser,
    emit,
    fmt,
    load_1min,
    stats,
    timed,
    verdict,
)
from cpg_core.pipeline import ProjectRun, build_project
from cpg_core.project import load_project
from cpg_core.store.delta_store import DeltaStore

USERS = 20_000
TARGET = 0.1
SESSIONS = """with ordered as (
    select e.day, e.user_id, e.ts, e.amount, u.segment,
           e.ts - lag(e.ts) over (partition by e.day, e.user_id order by e.ts) as gap
    from events e join users u on u.user_id = e.user_id
), marked as (
    select day, user_id, segment, ts, amount,
           sum(case when gap is null or gap > 1800 then 1 else 0 end)
               over (partition by day, user_id order by ts rows unbounded preceding) as session
    from ordered
)
select day, user_id, segment, session, count(*) as events, sum(amount) as revenue,
       min(ts) as started, max(ts) as ended
from marked
group by day, user_id, segment, session
"""
DECLARATION = "-- @incremental: partition_by = day\n"


def _events(day: int, rows: int, salt: int) -> pa.Table:
    rng = np.random.default_rng(day * 1009 + salt)
    return pa.table(
        {
            "day": pa.array([f"2024-{day:03d}"] * rows),
            "user_id": pa.array(rng.integers(0, USERS, rows)),
            "ts": pa.array(np.sort(rng.integers(0, 86_400, rows))),
            "amount": pa.array(np.round(rng.random(rows) * 100, 2)),
        }
    )


def write_project(root: Path, days: int, rows: int, incremental: bool) -> Path:
    """The generated project under `root`; returns its cpg.toml."""
    (root / "data" / "events").mkdir(parents=True)
    (root / "views").mkdir()
    for day in range(days):
        pq.write_table(_events(day, rows, 0), root / "data" / "events" / f"{day:03d}.parquet")
    rng = np.random.default_rng(7)
    users = pa.table(
        {
            "user_id": pa.array(np.arange(USERS)),
            "segment": pa.array([f"s{i}" for i in rng.integers(0, 8, USERS)]),
        }
    )
    pq.write_table(users, root / "data" / "users.parquet")
    sql = (DECLARATION if incremental else "") + SESSIONS
    (root / "views" / "sessions.sql").write_text(sql, encoding="utf-8")
    toml = root / "cpg.toml"
    toml.write_text(
        'views = ["views"]\ninclude_cpg = false\nstore = "store"\n'
        '[sources.events]\npath = "data/events"\nformat = "parquet"\n'
        '[sources.users]\npath = "data/users.parquet"\n',
        encoding="utf-8",
    )
    return toml


def _edit(root: Path, days: int, rows: int, salt: int) -> None:
    day = days // 2
    pq.write_table(_events(day, rows, salt), root / "data" / "events" / f"{day:03d}.parquet")


def _build(toml: Path) -> tuple[float, ProjectRun]:
    return timed(lambda: build_project(load_project(toml)))


def _one_twin(root: Path, days: int, rows: int, incremental: bool, salt: int) -> dict[str, Any]:
    """Cold build, edit one day, rebuild: (seconds, partitions recomputed by the rebuild)."""
    shutil.rmtree(root, ignore_errors=True)
    toml = write_project(root, days, rows, incremental)
    cold, _ = _build(toml)
    _edit(root, days, rows, salt)
    rebuild, run = _build(toml)
    outputs = {o.name: o for o in run.result.manifest.outputs}
    return {
        "cold_s": cold,
        "rebuild_s": rebuild,
        "recomputed": outputs["sessions"].partitions_recomputed,
        "rows": outputs["sessions"].rows,
    }


def _matches_cold(root: Path, days: int, rows: int, salt: int) -> bool:
    """The incremental twin's store equals a cold build of its edited inputs."""
    cold_root = root.parent / "verify"
    shutil.rmtree(cold_root, ignore_errors=True)
    toml = write_project(cold_root, days, rows, incremental=True)
    _edit(cold_root, days, rows, salt)
    build_project(load_project(toml))
    mine, theirs = DeltaStore(root / "store"), DeltaStore(cold_root / "store")
    return all(
        (a := mine.info(n)) is not None
        and (b := theirs.info(n)) is not None
        and a.data_version == b.data_version
        for n in theirs.names()
    )


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--rows", type=int, default=20_000, help="events per day")
    add_repeats(parser, 3)
    args = parser.parse_args()
    load = load_1min()
    runs: dict[str, list[dict[str, Any]]] = {"incremental": [], "full": []}
    with tempfile.TemporaryDirectory(prefix="cpg-bench-part-") as tmp:
        for repeat in range(args.repeats):
            for twin in ("incremental", "full"):
                root = Path(tmp) / twin
                runs[twin].append(
                    _one_twin(root, args.days, args.rows, twin == "incremental", repeat + 1)
                )
        equal = _matches_cold(Path(tmp) / "incremental", args.days, args.rows, args.repeats)
    ratios = [
        i["rebuild_s"] / f["rebuild_s"]
        for i, f in zip(runs["incremental"], runs["full"], strict=True)
    ]
    report = {
        "days": args.days,
        "rows_per_day": args.rows,
        "load_1min_at_start": load,
        "incremental": {
            k: stats([r[k] for r in runs["incremental"]]) for k in ("cold_s", "rebuild_s")
        },
        "full": {k: stats([r[k] for r in runs["full"]]) for k in ("cold_s", "rebuild_s")},
        "recomputed": [r["recomputed"] for r in runs["incremental"]],
        "output_rows": runs["incremental"][-1]["rows"],
        "ratio": stats(ratios),
        "ratio_of_medians": statistics.median(r["rebuild_s"] for r in runs["incremental"])
        / statistics.median(r["rebuild_s"] for r in runs["full"]),
        "equals_cold_build": equal,
    }
    emit(report, as_json=args.json, render=render)


def render(report: dict[str, Any]) -> str:
    inc, full = report["incremental"], report["full"]
    return "\n".join(
        [
            f"{report['days']} days x {report['rows_per_day']} events; "
            f"sessions view: {report['output_rows']} rows; load {report['load_1min_at_start']:.2f}",
            f"cold build      incremental twin {fmt(inc['cold_s'])}   plain twin {fmt(full['cold_s'])}",
            f"one day edited  incremental twin {fmt(inc['rebuild_s'])}   plain twin "
            f"{fmt(full['rebuild_s'])}",
            f"partitions recomputed by the incremental rebuilds: {report['recomputed']}",
            f"incremental / full rebuild: {fmt(report['ratio'], 'x', 3)} "
            f"(ratio of medians {report['ratio_of_medians']:.3f}x)",
            f"{verdict(report['ratio']['median'] <= TARGET)} target <= {TARGET}x; "
            f"incremental store equals a cold build: {report['equals_cold_build']}",
        ]
    )


if __name__ == "__main__":
    main()
