"""Dagster overhead: the same full CPG build through `materialize` in-process vs `build_project`.

Both build the built-in CPG of one repository into a fresh store (cold: no cache), in the same
process, alternating, so machine noise hits both. Target: Dagster / direct <= 1.3x.

    .venv/bin/python -m benchmarks.bench_dagster_overhead [--repo DIR] [--repeat N] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sysconfig
import tempfile
import time
from pathlib import Path

import dagster as dg

from cpg_core.pipeline import build_project
from cpg_core.plan import compile_plan
from cpg_core.project import Project
from cpg_dagster.definitions import cpg_definitions


def _project(repo: Path, store: Path) -> Project:
    return dataclasses.replace(Project.from_views([], include_cpg=True), repo=repo, store=store)


def direct(repo: Path, store: Path) -> float:
    """`cpg build`'s path: build_project, compile included."""
    started = time.perf_counter()
    build_project(_project(repo, store))
    return time.perf_counter() - started


def through_dagster(repo: Path, store: Path) -> float:
    """Compile, Definitions, and `materialize` of every asset on an ephemeral instance."""
    started = time.perf_counter()
    project = _project(repo, store)
    defs = cpg_definitions(compile_plan(project), project=project)
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
    result = dg.materialize(
        assets, instance=dg.DagsterInstance.ephemeral(), resources=defs.resources
    )
    assert result.success
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repo", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"direct": [], "dagster": []}
    for _ in range(args.repeat):
        for name, fn in (("direct", direct), ("dagster", through_dagster)):
            with tempfile.TemporaryDirectory(prefix="cpg-bench-") as tmp:
                times[name].append(fn(args.repo.resolve(), Path(tmp) / "store"))
    ratios = [d / b for d, b in zip(times["dagster"], times["direct"], strict=True)]
    report = {
        "repo": str(args.repo),
        "direct_s": times["direct"],
        "dagster_s": times["dagster"],
        "ratio_median": statistics.median(ratios),
        "ratios": ratios,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"repo {args.repo}")
    for name in ("direct", "dagster"):
        print(f"{name:>8}: " + ", ".join(f"{t:.2f} s" for t in times[name]))
    print(
        f"dagster / direct: median {report['ratio_median']:.3f}x "
        f"(runs: {', '.join(f'{r:.3f}' for r in ratios)}); target <= 1.3x"
    )


if __name__ == "__main__":
    main()
