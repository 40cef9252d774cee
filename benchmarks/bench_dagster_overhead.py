"""Dagster overhead: the same full CPG build through `materialize` in-process vs `build_project`.

Both build the built-in CPG of one repository into a fresh store (cold: no cache), in the same
process, alternating, so machine noise hits both. Target: Dagster / direct <= 1.3x.

    .venv/bin/python -m benchmarks.bench_dagster_overhead [--repo DIR] [--repeats N] [--json]
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg

from benchmarks.harness import add_repeats, add_tree, benchmark_parser, emit, timed
from cpg_core.pipeline import build_project
from cpg_core.plan import compile_plan
from cpg_core.project import Project
from cpg_dagster.definitions import cpg_definitions


def _project(repo: Path, store: Path) -> Project:
    return dataclasses.replace(Project.from_views([], include_cpg=True), repo=repo, store=store)


def direct(repo: Path, store: Path) -> float:
    """`cpg build`'s path: build_project, compile included."""
    seconds, _ = timed(lambda: build_project(_project(repo, store)))
    return seconds


def through_dagster(repo: Path, store: Path) -> float:
    """Compile, Definitions, and `materialize` of every asset on an ephemeral instance."""

    def materialize_all() -> None:
        project = _project(repo, store)
        defs = cpg_definitions(compile_plan(project), project=project)
        assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
        result = dg.materialize(
            assets, instance=dg.DagsterInstance.ephemeral(), resources=defs.resources
        )
        assert result.success

    seconds, _ = timed(materialize_all)
    return seconds


def main() -> None:
    parser = benchmark_parser(__doc__)
    add_tree(parser, "--repo")
    add_repeats(parser, 2)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"direct": [], "dagster": []}
    for _ in range(args.repeats):
        for name, fn in (("direct", direct), ("dagster", through_dagster)):
            with tempfile.TemporaryDirectory(prefix="cpg-bench-") as tmp:
                times[name].append(fn(args.repo.resolve(), Path(tmp) / "store"))
    ratios = [d / b for d, b in zip(times["dagster"], times["direct"], strict=True)]
    report: dict[str, Any] = {
        "repo": str(args.repo),
        "direct_s": times["direct"],
        "dagster_s": times["dagster"],
        "ratio_median": statistics.median(ratios),
        "ratios": ratios,
    }
    emit(report, as_json=args.json, render=render)


def render(report: dict[str, Any]) -> str:
    """Every run's seconds, and the median ratio against the target."""
    out = [f"repo {report['repo']}"]
    for name in ("direct", "dagster"):
        out.append(f"{name:>8}: " + ", ".join(f"{t:.2f} s" for t in report[f"{name}_s"]))
    out.append(
        f"dagster / direct: median {report['ratio_median']:.3f}x "
        f"(runs: {', '.join(f'{r:.3f}' for r in report['ratios'])}); target <= 1.3x"
    )
    return "\n".join(out)


if __name__ == "__main__":
    main()
