"""Day two: the rebuild after one edited `.py` file, through Dagster vs `cpg build`.

One copy of the repository and two stores, both built cold first (not timed). Then, `--repeats`
times: append a function to one `.py` file, and rebuild that edit both ways, alternating which
goes first so machine noise hits both. `cpg build`'s path is `build_project` (compile cache
included); Dagster's is what a launched run pays: compile (cache), `cpg_definitions`, and
`materialize` of every asset on an instance that keeps the history of the earlier runs
(evidence extracted incrementally, checks evaluated, the plan asset). Two instances, each with
its own store: `sqlite`, on disk as under `dg dev` (every event is a SQLite commit), and
`memory` (`DagsterInstance.ephemeral()`: Dagster's bookkeeping without the disk). Target:
Dagster / direct <= 1.2x.

The repository is a slice of the stdlib by default (`--packages`: five packages, 232 files —
a whole-stdlib build takes minutes, in which Dagster's per-event cost disappears); pass
`--packages ""` for the whole `--repo`.

    .venv/bin/python -m benchmarks.bench_dagster_rebuild [--repo DIR] [--packages A,B] \
        [--repeats N] [--json]
"""

import dataclasses
import statistics
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from benchmarks.harness import (
    add_repeats,
    add_tree,
    benchmark_parser,
    emit,
    load_1min,
    timed,
    verdict,
)
from benchmarks.stdlib_copy import copy_packages, copy_python_tree
from cpg_core.pipeline import build_project
from cpg_core.plan import compile_plan
from cpg_core.project import Project
from cpg_dagster.definitions import cpg_definitions

TARGET = 1.2
BUILDS = ("direct", "sqlite", "memory")
FLOORS = ("floor_sqlite", "floor_memory")
PACKAGES = "asyncio,email,idlelib,multiprocessing,xml"


def _project(repo: Path, store: Path) -> Project:
    return dataclasses.replace(Project.from_views([], include_cpg=True), repo=repo, store=store)


def direct(repo: Path, store: Path) -> Callable[[], None]:
    """`cpg build`'s path."""

    def run() -> None:
        build_project(_project(repo, store))

    return run


def through_dagster(repo: Path, store: Path, instance: dg.DagsterInstance) -> Callable[[], None]:
    """A launched run's path: load the definitions, materialize every asset on `instance`."""

    def run() -> None:
        project = _project(repo, store)
        defs = cpg_definitions(compile_plan(project), project=project)
        assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
        result = dg.materialize(assets, instance=instance, resources=defs.resources)
        assert result.success

    return run


def noop_twin(repo: Path, store: Path) -> dg.AssetsDefinition:
    """A multi_asset with cpg's asset and check keys whose body does no work: it logs one line
    and yields one result per asset and check, as cpg's does. What Dagster alone costs to record
    such a run is the floor under any plugin that materializes one asset per table."""
    project = _project(repo, store)
    defs = cpg_definitions(compile_plan(project), project=project)
    (cpg,) = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition) and a.check_keys]
    keys, checks = sorted(cpg.keys), sorted(cpg.check_keys)

    @dg.multi_asset(
        name="noop_twin",
        specs=[dg.AssetSpec(k, skippable=True) for k in keys],
        check_specs=[dg.AssetCheckSpec(c.name, asset=c.asset_key) for c in checks],
        can_subset=True,
    )
    def twin(context: AssetExecutionContext) -> Iterator[Any]:
        for key in keys:
            context.log.info(f"{key.to_user_string()}: unchanged")
            yield dg.MaterializeResult(asset_key=key, data_version=dg.DataVersion("same"))
        for check in checks:
            yield dg.AssetCheckResult(asset_key=check.asset_key, check_name=check.name, passed=True)

    return twin


def floor(twin: dg.AssetsDefinition, instance: dg.DagsterInstance) -> Callable[[], None]:
    def run() -> None:
        assert dg.materialize([twin], instance=instance).success

    return run


def edited_file(repo: Path) -> Path:
    """The file every repeat edits: the largest `.py` file (the edit touches a real module)."""
    return max(repo.rglob("*.py"), key=lambda p: (p.stat().st_size, str(p)))


def measure(source: Path, packages: str, repeats: int, root: Path) -> dict[str, list[float]]:
    repo = root / "repo"
    if packages:
        copy_packages(source, repo, packages.split(","))
    else:
        copy_python_tree(source, repo)
    target = edited_file(repo)
    times: dict[str, list[float]] = {f"{p}{n}": [] for p in ("cold_", "") for n in BUILDS}
    times |= {name: [] for name in FLOORS}
    (root / "dagster_home").mkdir()
    (root / "floor_home").mkdir()
    with (
        dg.DagsterInstance.local_temp(str(root / "dagster_home")) as on_disk,
        dg.DagsterInstance.ephemeral() as in_memory,
        dg.DagsterInstance.local_temp(str(root / "floor_home")) as floor_disk,
        dg.DagsterInstance.ephemeral() as floor_memory,
    ):
        builds = {
            "direct": direct(repo, root / "store_direct"),
            "sqlite": through_dagster(repo, root / "store_sqlite", on_disk),
            "memory": through_dagster(repo, root / "store_memory", in_memory),
        }
        for name, build in builds.items():
            times[f"cold_{name}"].append(timed(build)[0])
        twin = noop_twin(repo, root / "store_direct")
        floors = {
            "floor_sqlite": floor(twin, floor_disk),
            "floor_memory": floor(twin, floor_memory),
        }
        for run in floors.values():
            run()  # the twin's first run: its assets become known to the instance
        for i in range(repeats):
            with target.open("a", encoding="utf-8") as out:
                out.write(f"\n\ndef edited_on_day_two_{i}():\n    return {i}\n")
            for name in BUILDS[i % 3 :] + BUILDS[: i % 3]:  # each goes first in turn
                times[name].append(timed(builds[name])[0])
            for name, run in floors.items():
                times[name].append(timed(run)[0])
    return times


def main() -> None:
    parser = benchmark_parser(__doc__)
    add_tree(parser, "--repo")
    parser.add_argument("--packages", default=PACKAGES, help="comma-separated folders of --repo")
    add_repeats(parser, 3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cpg-bench-") as tmp:
        times = measure(args.repo.resolve(), args.packages, args.repeats, Path(tmp))
    files = f" ({args.packages})" if args.packages else ""
    report: dict[str, Any] = {
        "repo": f"{args.repo}{files}",
        **{f"{name}_s": values for name, values in times.items()},
        "load_1min": load_1min(),
    }
    for kind in ("sqlite", "memory"):
        ratios = [d / b for d, b in zip(times[kind], times["direct"], strict=True)]
        report[f"{kind}_ratios"] = ratios
        report[f"{kind}_ratio_median"] = statistics.median(ratios)
        floors = [f / b for f, b in zip(times[f"floor_{kind}"], times["direct"], strict=True)]
        report[f"floor_{kind}_ratio_median"] = statistics.median(floors)
    emit(report, as_json=args.json, render=render)


def render(report: dict[str, Any]) -> str:
    """Every run's seconds, and the median ratio against the target."""
    out = [f"repo {report['repo']} (1-minute load {report['load_1min']:.1f})"]
    for name in [f"cold_{n}" for n in BUILDS] + list(BUILDS) + list(FLOORS):
        out.append(f"{name:>12}: " + ", ".join(f"{t:.2f} s" for t in report[f"{name}_s"]))
    for kind in ("sqlite", "memory"):
        ratio, runs = report[f"{kind}_ratio_median"], report[f"{kind}_ratios"]
        out.append(
            f"{verdict(ratio <= TARGET)} rebuild after one .py edit, dagster ({kind}) / direct: "
            f"median {ratio:.3f}x (runs: {', '.join(f'{r:.3f}' for r in runs)}); "
            f"target <= {TARGET}x"
        )
        out.append(
            f"     Dagster alone ({kind}), the same assets and checks, no work: "
            f"median {report[f'floor_{kind}_ratio_median']:.3f}x of direct"
        )
    return "\n".join(out)


if __name__ == "__main__":
    main()
