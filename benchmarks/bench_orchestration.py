"""Orchestration cost on real work: the built-in CPG views over the stdlib's evidence (issue 4).

The evidence is extracted once (`extract_repo(stdlib, workers=2)`). Each repeat then runs, in
this process and back to back:

- **direct**: the same SQL in ONE DataFusion `SessionContext`: evidence tables registered,
  every admitted view (persisted and inline) run in the plan's topological order with the same
  read-only options, its result registered as a table. Nothing is stored or hashed.
- **build**: `cpg_core.execute.build` (serial, a fresh store each repeat, so the Hamilton cache is
  cold): Hamilton driver + plan executor, a fresh DataFusion context per node, every output
  canonicalized (store types, canonical row order) and hashed, evidence and outputs written to
  Delta, events, state and manifest.

- **direct + store**: direct, then the same store work the build does, done plainly in this
  thread: every evidence table and persisted output canonicalized (`canonicalize`), hashed and
  written to a fresh Delta store with `DeltaStore.write`. No Hamilton, no plan executor, no
  events, no background writer.

The ratio is build / direct per repeat (target <= 1.15x). build / (direct + store) is the
overhead of the orchestration itself (Hamilton driver, plan executor, a fresh DataFusion context
per node, events, manifest, minus what the background writer overlaps), separated from the cost
of the store's contract (canonical order, content hash, Delta). A last build runs under cProfile
and splits its wall time into DataFusion (SQL), canonical ordering (sort + take + store types),
content hashing, Delta writes (evidence vs outputs) and the rest (Hamilton, events, manifest).
The outputs of build and direct are checked to be the same rows (content hashes).

    .venv/bin/python -m benchmarks.bench_orchestration                 # 3 repeats
    .venv/bin/python -m benchmarks.bench_orchestration --repeats 5 --json
    .venv/bin/python -m benchmarks.bench_orchestration --no-profile

Exit status 0 whatever the numbers: this is a report, read the PASS/MISS line.
"""

from __future__ import annotations

import cProfile
import gc
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `cpg_core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa
from datafusion import SessionContext

from benchmarks.harness import (
    Timer,
    add_repeats,
    benchmark_parser,
    emit,
    fmt,
    load_1min,
    peak_rss,
    stats,
    verdict,
)
from benchmarks.workloads import (
    breakdown,
    cpg_plan,
    fresh_process_state,
    split,
    split_lines,
    stdlib_evidence,
    store_plainly,
)
from cpg_core.execute import ExecutorConfig, RunResult, build
from cpg_core.plan import ExecutionPlan
from cpg_core.plan.engine_check import READ_ONLY
from cpg_core.settings import SERIAL
from cpg_core.store.content_hash import content_hash
from cpg_core.store.delta_store import DeltaStore

TARGET = 1.15


def run_direct(
    plan: ExecutionPlan, inputs: Mapping[str, pa.Table]
) -> tuple[Timer, dict[str, pa.Table]]:
    """Every admitted view in ONE SessionContext in topological order; (timing, outputs)."""
    gc.collect()
    outputs: dict[str, pa.Table] = {}
    with Timer() as timer:
        ctx = SessionContext()
        for name, table in inputs.items():
            ctx.from_arrow(table, name=name)
        for name in plan.schedule.order:
            result = ctx.sql_with_options(plan.tasks[name].view.sql, READ_ONLY).to_arrow_table()
            ctx.from_arrow(result, name=name)
            outputs[name] = result
    return timer, outputs


def run_direct_stored(
    plan: ExecutionPlan, inputs: Mapping[str, pa.Table]
) -> tuple[Timer, dict[str, pa.Table]]:
    """`run_direct`, then every evidence input and persisted output canonicalized, hashed and
    written to a fresh Delta store, one after the other in this thread; (timing, outputs)."""
    gc.collect()
    with tempfile.TemporaryDirectory(prefix="cpg-bench-") as tmp:
        store = DeltaStore(Path(tmp) / "store")
        with Timer() as timer:
            _, outputs = run_direct(plan, inputs)
            stored = {
                **{n: t for n, t in inputs.items() if n in plan.datasets},
                **{n: outputs[n] for n in plan.schedule.order if plan.tasks[n].view.persisted},
            }
            store_plainly(store, stored)
    return timer, outputs


def run_build(
    plan: ExecutionPlan,
    inputs: Mapping[str, pa.Table],
    config: ExecutorConfig = SERIAL,
    *,
    profile: cProfile.Profile | None = None,
) -> tuple[Timer, RunResult]:
    """`build` into a fresh temporary store (cache cold); (timing, result)."""
    fresh_process_state()
    with tempfile.TemporaryDirectory(prefix="cpg-bench-") as tmp, Timer() as timer:
        if profile is not None:
            profile.enable()
        try:
            result = build(plan, store=Path(tmp) / "store", inputs=inputs, config=config)
        finally:
            if profile is not None:
                profile.disable()
    fresh_process_state()
    return timer, result


# --------------------------------------------------------------------------- the benchmark


def run(repeats: int, profile: bool) -> dict[str, Any]:
    evidence, extract_s, root = stdlib_evidence(workers=2)
    plan = cpg_plan()
    views = list(plan.schedule.order)
    persisted = [v for v in views if plan.tasks[v].view.persisted]
    report: dict[str, Any] = {
        "root": str(root),
        "files": evidence["files"].num_rows,
        "evidence_rows": {n: t.num_rows for n, t in sorted(evidence.items())},
        "evidence_mb": sum(t.nbytes for t in evidence.values()) / 1e6,
        "extract_s": extract_s,
        "views": len(views),
        "persisted": len(persisted),
        "cores": os.cpu_count(),
    }
    direct: list[Timer] = []
    direct_stored: list[Timer] = []
    built: list[Timer] = []
    last: tuple[dict[str, pa.Table], RunResult] | None = None
    for i in range(repeats):
        d, outputs = run_direct(plan, evidence)
        del outputs
        s, outputs = run_direct_stored(plan, evidence)
        b, result = run_build(plan, evidence)
        direct.append(d)
        direct_stored.append(s)
        built.append(b)
        if i == repeats - 1:
            last = (outputs, result)
        del outputs, result
    assert last is not None
    outputs, result = last
    with Timer() as hashing:
        direct_versions = {v: content_hash(outputs[v]) for v in persisted}
    report["hash_direct_outputs_s"] = hashing.wall
    versions = {o.name: o.data_version for o in result.manifest.outputs}
    report["same_rows"] = direct_versions == versions
    report["output_rows"] = sum(o.rows for o in result.manifest.outputs)
    del last, outputs, result
    report["direct"] = stats([t.wall for t in direct])
    report["build"] = stats([t.wall for t in built])
    report["ratio"] = stats([b.wall / d.wall for b, d in zip(built, direct, strict=True)])
    report["direct_stored"] = stats([t.wall for t in direct_stored])
    report["ratio_stored"] = stats(
        [b.wall / s.wall for b, s in zip(built, direct_stored, strict=True)]
    )
    report["direct_stored_cpu"] = stats([t.cpu for t in direct_stored])
    report["ratio_stored_cpu"] = stats(
        [b.cpu / s.cpu for b, s in zip(built, direct_stored, strict=True)]
    )
    report["direct_cpu"] = stats([t.cpu for t in direct])
    report["build_cpu"] = stats([t.cpu for t in built])
    report["ratio_cpu"] = stats([b.cpu / d.cpu for b, d in zip(built, direct, strict=True)])
    if profile:
        profiler = cProfile.Profile()
        timer, _ = run_build(plan, evidence, profile=profiler)
        report["profile"] = split(breakdown(profiler, timer.wall))
    report["peak_rss_gib"] = peak_rss().own_gib
    report["load_1min"] = load_1min()
    return report


def render_report(r: Mapping[str, Any]) -> str:
    """The table a reader compares with docs/execution.md."""
    out: list[str] = []
    out.append(
        f"stdlib {r['files']} files -> evidence {r['evidence_mb']:.0f} MB "
        f"(extract {r['extract_s']:.1f} s, once); {r['views']} CPG views "
        f"({r['persisted']} persisted), {r['output_rows']} output rows; {r['cores']} cores"
    )
    n = len(r["direct"]["runs"])
    out.append(f"{'':34}median [min-max] over {n} repeats")
    out.append(f"{'direct (one SessionContext)':34}{fmt(r['direct'])}")
    out.append(f"{'build (serial, fresh store)':34}{fmt(r['build'])}")
    ok = verdict(r["ratio"]["median"] <= TARGET)
    out.append(f"{'build / direct':34}{fmt(r['ratio'], 'x', 2)}  {ok} (target <= {TARGET}x)")
    out.append(f"{'direct, CPU time':34}{fmt(r['direct_cpu'])}")
    out.append(f"{'build, CPU time':34}{fmt(r['build_cpu'])}")
    out.append(f"{'build / direct, CPU time':34}{fmt(r['ratio_cpu'], 'x', 2)}")
    out.append(f"{'direct + store (same store work)':34}{fmt(r['direct_stored'])}")
    out.append(f"{'direct + store, CPU time':34}{fmt(r['direct_stored_cpu'])}")
    ok = verdict(r["ratio_stored"]["median"] <= TARGET)
    out.append(
        f"{'build / (direct + store)':34}{fmt(r['ratio_stored'], 'x', 2)}  {ok} "
        f"(orchestration alone, target <= {TARGET}x)"
    )
    out.append(f"{'  CPU time':34}{fmt(r['ratio_stored_cpu'], 'x', 2)}")
    out.append(f"same rows as direct: {r['same_rows']}")
    if "profile" in r:
        out.append(split_lines(r["profile"], "one build"))

    out.append(
        f"hashing the direct outputs alone: {r['hash_direct_outputs_s']:.1f} s; "
        f"peak RSS {r['peak_rss_gib']:.1f} GiB; load {r['load_1min']:.2f}"
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__, json_help="print the report as JSON")
    add_repeats(parser, 3)
    parser.add_argument("--no-profile", action="store_true", help="skip the profiled build")
    args = parser.parse_args(argv)
    report = run(args.repeats, profile=not args.no_profile)
    emit(report, as_json=args.json, render=render_report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
