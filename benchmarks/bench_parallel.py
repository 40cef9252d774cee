"""Serial vs thread-parallel build of the stdlib CPG views, against the critical-path bound.

The evidence is extracted once (`extract_repo(stdlib, workers=2)`). Each repeat builds every CPG
view into a fresh store (Hamilton cache cold) twice, back to back: serial, then parallel
(`ExecutorConfig(mode="parallel", executor="threads", max_tasks=2)`, which gives each query
`target_partitions = cores // 2`). Speedup = serial / parallel per repeat.

The bound: the durations the serial build measured (what the next compile uses as costs, read
back from the store with `load_durations`) are fed to `compile_plan(history=...)`, and the
plan's schedule gives the sum of costs and the weighted critical path. Inline views run inside
their readers' nodes (their time is in the reader's measured duration), so they get cost 0.
sum / critical path is the most any number of workers could gain from task parallelism;
with 2 workers the bound is min(2, sum / critical path). DataFusion already spreads one query
over all cores (docs/dependencies.md#datafusion-uses-every-core), so on 2 cores that bound is not expected to be reached.

    .venv/bin/python -m benchmarks.bench_parallel                   # 3 repeats
    .venv/bin/python -m benchmarks.bench_parallel --repeats 5 --json
    .venv/bin/python -m benchmarks.bench_parallel --oversubscribe   # also 2 threads x 2 partitions

Exit status 0 whatever the numbers: this is a report.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `cpg_core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa

from benchmarks.harness import Timer, add_repeats, benchmark_parser, emit, fmt, load_1min, stats
from benchmarks.workloads import cpg_plan, fresh_process_state, stdlib_evidence
from cpg_core.execute import ExecutionMode, ExecutorConfig, build
from cpg_core.plan import ExecutionPlan
from cpg_core.store.history import load_durations

CONFIGS: dict[str, ExecutorConfig] = {
    "serial": ExecutorConfig(),
    "threads2": ExecutorConfig(mode=ExecutionMode.PARALLEL, executor="threads", max_tasks=2),
}
OVERSUBSCRIBED = ExecutorConfig(
    mode=ExecutionMode.PARALLEL,
    executor="threads",
    max_tasks=2,
    target_partitions=os.cpu_count() or 1,
)


def timed_build(
    plan: ExecutionPlan, inputs: Mapping[str, pa.Table], config: ExecutorConfig
) -> tuple[Timer, dict[str, float]]:
    """One build into a fresh store; (timing, the durations it recorded by fingerprint)."""
    fresh_process_state()
    with tempfile.TemporaryDirectory(prefix="cpg-bench-") as tmp:
        store = Path(tmp) / "store"
        with Timer() as timer:
            result = build(plan, store=store, inputs=inputs, config=config)
        assert len(result.executed) == len(result.manifest.outputs)
        durations = load_durations(store)
        del result
    fresh_process_state()
    return timer, durations


def bound(measured: Mapping[str, float]) -> dict[str, Any]:
    """Sum of costs, critical path and their ratio from the plan compiled with `measured`."""
    plain = cpg_plan()
    inline = {
        task.fingerprint: 0.0
        for task in plain.tasks.values()
        if task.admitted and task.fingerprint and not task.view.persisted
    }
    plan = cpg_plan({**measured, **inline})
    schedule = plan.schedule
    total = sum(schedule.costs.values())
    sources = {plan.costs[n].source for n in schedule.order if plan.tasks[n].view.persisted}
    return {
        "sum_s": total,
        "critical_path_s": schedule.critical_path_length,
        "critical_path": list(schedule.critical_path),
        "bound": total / schedule.critical_path_length,
        "bound_2_workers": min(2.0, total / schedule.critical_path_length),
        "cost_sources": sorted(sources),
    }


def run(repeats: int, oversubscribe: bool) -> dict[str, Any]:
    evidence, extract_s, _ = stdlib_evidence(workers=2)
    plan = cpg_plan()
    configs = dict(CONFIGS)
    if oversubscribe:
        configs["threads2_oversubscribed"] = OVERSUBSCRIBED
    times: dict[str, list[float]] = {label: [] for label in configs}
    cpu: dict[str, list[float]] = {label: [] for label in configs}
    measured: dict[str, dict[str, float]] = {}
    for _ in range(repeats):
        for label, config in configs.items():
            timer, durations = timed_build(plan, evidence, config)
            times[label].append(timer.wall)
            cpu[label].append(timer.cpu)
            measured[label] = durations  # the last repeat's
    report: dict[str, Any] = {
        "files": evidence["files"].num_rows,
        "extract_s": extract_s,
        "views": len(plan.schedule.order),
        "persisted": sum(1 for v in plan.schedule.order if plan.tasks[v].view.persisted),
        "cores": os.cpu_count(),
        "partitions": {label: config.partitions() for label, config in configs.items()},
    }
    report["builds"] = {label: stats(values) for label, values in times.items()}
    report["builds_cpu"] = {label: stats(values) for label, values in cpu.items()}
    report["speedup"] = {
        label: stats([s / p for s, p in zip(times["serial"], values, strict=True)])
        for label, values in times.items()
        if label != "serial"
    }
    report["bound_serial_durations"] = bound(measured["serial"])
    report["bound_parallel_durations"] = bound(measured["threads2"])
    report["load_1min"] = load_1min()
    return report


def render_report(r: Mapping[str, Any]) -> str:
    """The table a reader compares with docs/execution.md."""
    out: list[str] = []
    out.append(
        f"stdlib {r['files']} files (extract {r['extract_s']:.1f} s, once); {r['views']} CPG "
        f"views ({r['persisted']} nodes after folding inline views); {r['cores']} cores"
    )
    n = len(r["builds"]["serial"]["runs"])
    out.append(f"{'':40}median [min-max] over {n} repeats")
    for label, s in r["builds"].items():
        name = f"{label} (partitions {r['partitions'][label]})"
        out.append(f"{name:40}{fmt(s)}  CPU {fmt(r['builds_cpu'][label])}")
    for label, s in r["speedup"].items():
        out.append(f"{'speedup ' + label:40}{fmt(s, 'x', 2)}")
    for key, label in (
        ("bound_serial_durations", "serial"),
        ("bound_parallel_durations", "threads2"),
    ):
        b = r[key]
        out.append(
            f"critical-path bound ({label} durations): sum {b['sum_s']:.1f} s / critical path "
            f"{b['critical_path_s']:.1f} s = {b['bound']:.2f}x (2 workers: "
            f"{b['bound_2_workers']:.2f}x); path {' -> '.join(b['critical_path'])}"
        )
    out.append(f"load {r['load_1min']:.2f}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__, json_help="print the report as JSON")
    add_repeats(parser, 3)
    parser.add_argument(
        "--oversubscribe", action="store_true", help="also 2 threads with all cores per query"
    )
    args = parser.parse_args(argv)
    report = run(args.repeats, args.oversubscribe)
    emit(report, as_json=args.json, render=render_report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
