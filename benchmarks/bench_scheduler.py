"""Per-task scheduler overhead on a synthetic plan of N trivial views (issue 4: <= 1 ms/task).

Trivial views (`select order_id, amount from <upstream>` over a 4-row table) make the view work
itself tiny, so what remains is orchestration. Three layers are timed, each best of `--repeats`:

- direct:    `run_plan_direct` (the same SQL in DataFusion in schedule order, no Hamilton);
- scheduler: the Hamilton driver with the plan executor (priority ready queue, node lifecycle,
             codegen'd nodes) and no cache or store; overhead = wall - time inside node callables;
- build:     the full `build` (Hamilton cache, Delta writes, events, state), cold and no-change.

    .venv/bin/python -m benchmarks.bench_scheduler              # N = 1000
    .venv/bin/python -m benchmarks.bench_scheduler --views 200 --repeats 3 --json
"""

from __future__ import annotations

import random
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hamilton import driver
from hamilton.lifecycle.base import LifecycleAdapterSet

from benchmarks.harness import add_repeats, benchmark_parser, best_of, emit, timed, verdict
from cpg_core.execute import ExecutionMode, ExecutorConfig, build
from cpg_core.execute.codegen import fingerprint_input, generate, task_input
from cpg_core.execute.direct import run_plan_direct
from cpg_core.execute.driver_cache import forget_drivers
from cpg_core.execute.pools import RemotePool
from cpg_core.execute.runner import PlanGraphExecutor, RunRecord
from cpg_core.execute.task_spec import view_task
from cpg_core.execute.versions import register_fingerprints
from cpg_core.plan import ExecutionPlan, compile_plan
from cpg_core.plan.schedule import priority_ranks
from cpg_core.project import load_project
from cpg_core.views.names import PLAN_INPUT, RUN_INPUT
from tests.execute.helpers import read_inputs
from tests.plan.projects import write_project

TARGET_MS = 1.0


def trivial_views(n: int, seed: int = 7) -> dict[str, str]:
    """N views, each reading `orders` or one earlier view (a random DAG of many generations)."""
    rng = random.Random(seed)
    views: dict[str, str] = {}
    for i in range(n):
        upstream = "orders" if i < max(1, n // 20) else f"v{rng.randrange(i):04d}"
        views[f"v{i:04d}"] = f"select order_id, amount from {upstream}"
    return views


@dataclass
class _BareRun:
    """What the plan executor needs of a run, without a store: the scheduler alone is timed."""

    config: ExecutorConfig
    ranks: Mapping[str, int]
    costs: Mapping[str, float]
    record: RunRecord = field(default_factory=RunRecord)
    pool: RemotePool | None = None

    def view_started(self, name: str, kwargs: Mapping[str, Any], executor: str) -> None:
        pass

    def view_finished(self, name: str, result: Any, cache_key: str | None) -> None:
        pass

    def view_failed(self, name: str, error: BaseException) -> None:
        pass


def _scheduler_run(
    plan: ExecutionPlan, root: Path, inputs: dict[str, Any], config: ExecutorConfig
) -> dict[str, float]:
    module = generate(plan, root / "modules")
    dr = driver.Builder().with_modules(module.module).build()
    adapters = dr.adapter
    assert isinstance(adapters, LifecycleAdapterSet)
    dr.graph_executor = PlanGraphExecutor(adapters, module)
    views: list[Any] = list(module.views)
    run = _BareRun(
        config=config,
        ranks=priority_ranks(plan.schedule),
        costs={v: plan.costs[v].seconds for v in views},
    )
    hamilton_inputs: dict[str, Any] = {PLAN_INPUT: plan, RUN_INPUT: run, **inputs}
    for view in views:
        hamilton_inputs[fingerprint_input(view)] = plan.tasks[view].fingerprint
        hamilton_inputs[task_input(view)] = view_task(
            plan, view, target_partitions=config.partitions()
        )
    wall, _ = timed(lambda: dr.execute(views, inputs=hamilton_inputs))
    inside = sum(run.record.executed.values())
    # With concurrency > 1 the callables overlap, so their sum says nothing about overhead.
    serial = config.concurrency == 1
    return {
        "wall_s": wall,
        "callables_s": inside,
        "overhead_ms_per_task": (wall - inside) / len(views) * 1e3 if serial else float("nan"),
    }


def render(report: dict[str, Any]) -> str:
    """Per-task overhead of each layer, against the target."""
    n = report["views"]
    out: list[str] = []
    out.append(
        f"N={n} trivial views, {report['generations']} generations; compile {report['compile_s']:.1f} s"
    )
    out.append(
        f"direct (DataFusion only)         {report['direct_s']:.2f} s  ({report['direct_s'] / n * 1e3:.2f} ms/view)"
    )
    r = report["scheduler_serial"]
    ok = verdict(r["overhead_ms_per_task"] <= TARGET_MS)
    out.append(
        f"scheduler serial   wall {r['wall_s']:.2f} s, inside views {r['callables_s']:.2f} s: "
        f"overhead {r['overhead_ms_per_task']:.3f} ms/task  {ok} (<= {TARGET_MS} ms); "
        f"vs direct {r['vs_direct_ms_per_task']:+.3f} ms/task"
    )
    r = report["scheduler_threads2"]
    out.append(
        f"scheduler threads2 wall {r['wall_s']:.2f} s: vs direct "
        f"{r['vs_direct_ms_per_task']:+.3f} ms/task (2 threads on trivial views)"
    )
    out.append(
        f"full build cold                  {report['build_cold_s']:.2f} s  ({report['build_cold_ms_per_task']:.2f} ms/task incl. Delta writes)"
    )
    out.append(
        f"full build no-change             {report['build_nochange_s']:.2f} s  ({report['build_nochange_ms_per_task']:.2f} ms/task)"
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--views", type=int, default=1000)
    add_repeats(parser, 3)
    args = parser.parse_args(argv)
    register_fingerprints()
    report: dict[str, Any] = {"views": args.views}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        report["compile_s"], plan = timed(
            lambda: compile_plan(
                load_project(write_project(root, trivial_views(args.views))), cache=False
            )
        )
        report["generations"] = len(plan.schedule.generations)
        inputs = read_inputs(root)

        best, _, _ = best_of(args.repeats, lambda: run_plan_direct(plan, inputs))
        report["direct_s"] = best

        for label, config in {
            "serial": ExecutorConfig(),
            "threads2": ExecutorConfig(mode=ExecutionMode.PARALLEL, max_tasks=2),
        }.items():
            runs = [_scheduler_run(plan, root / label, inputs, config) for _ in range(args.repeats)]
            best_run = min(runs, key=lambda r: r["wall_s"])
            best_run["vs_direct_ms_per_task"] = (best_run["wall_s"] - best) / args.views * 1e3
            report[f"scheduler_{label}"] = best_run

        forget_drivers()
        report["build_cold_s"], cold = timed(
            lambda: build(plan, store=root / "store", inputs=inputs)
        )
        assert len(cold.executed) == args.views
        report["build_nochange_s"], warm = timed(
            lambda: build(plan, store=root / "store", inputs=inputs)
        )
        assert warm.executed == ()
    n = args.views
    report["build_cold_ms_per_task"] = report["build_cold_s"] / n * 1e3
    report["build_nochange_ms_per_task"] = report["build_nochange_s"] / n * 1e3
    emit(report, as_json=args.json, render=render)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
