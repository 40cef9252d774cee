"""Whole CPG build over the installed standard library: extraction + the built-in views.

Reports files/s and lines/s of the whole build (serial extraction, and 2 extraction workers),
beside the floor measured in the same run (`ast.parse` + `symtable` of the same files, nothing
else), with the peak RSS of the process (and of its workers). The views run through the compiled
plan in schedule order over DataFusion (`run_plan_direct`, the reference executor).

    .venv/bin/python -m benchmarks.bench_cpg_build [--root PATH] [--json]

Exit status 0 whatever the numbers: this is a report.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `cpg_core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.floors import python_floor_unit
from benchmarks.harness import Timer, add_tree, benchmark_parser, emit, load_1min, peak_rss, verdict
from cpg_core.checks.dangling import dangling_edges
from cpg_core.execute.direct import run_plan_direct
from cpg_core.extract import extract_repo, scan_repo
from cpg_core.plan import compile_plan
from cpg_core.project import Project

_KEEP = {"cpg_nodes", "cpg_edges", "cpg_props"}


def run(root: Path) -> dict[str, Any]:
    """Floor, then a whole build with 1 and with 2 extraction workers."""
    scan = scan_repo(root)
    files = len(scan.files)
    with Timer() as floor:
        for unit in scan.units:
            python_floor_unit(unit)
    floor_s = floor.wall
    plan = compile_plan(Project.from_views([], include_cpg=True), cache=False)
    result: dict[str, Any] = {"root": str(root), "files": files, "floor_s": floor_s}
    for workers in (1, 2):
        with Timer() as extract:
            evidence = extract_repo(root, workers=workers)
        with Timer() as views:
            lines = sum(n or 0 for n in evidence["files"].column("line_count").to_pylist())
            result["lines"] = lines
            # Hand the evidence over (no reference kept here) so tables are released after use.
            inputs, evidence = evidence, {}
            outputs = run_plan_direct(plan, inputs, keep=_KEEP)
            del inputs
        total = extract.wall + views.wall
        result[f"w{workers}"] = {
            "extract_s": extract.wall,
            "views_s": views.wall,
            "total_s": total,
            "files_per_s": files / total,
            "lines_per_s": lines / total,
            "nodes": outputs["cpg_nodes"].num_rows,
            "edges": outputs["cpg_edges"].num_rows,
            "dangling": dangling_edges(outputs["cpg_edges"], outputs["cpg_nodes"]).failing_rows,
        }
        del evidence, outputs
    peak = peak_rss()
    result |= {
        "peak_gib": peak.own_gib,
        "peak_child_gib": peak.largest_child_gib,
        "load_1min": load_1min(),
    }
    return result


def render(result: dict[str, Any]) -> str:
    """One line per worker count, then the peak memory against the target."""
    out = [
        f"{result['files']} files, {result['lines']} lines; floor (ast+symtable) {result['floor_s']:.1f} s"
    ]
    for workers in (1, 2):
        r = result[f"w{workers}"]
        out.append(
            f"workers={workers}: extract {r['extract_s']:.1f} s + views {r['views_s']:.1f} s = "
            f"{r['total_s']:.1f} s ({r['files_per_s']:.0f} files/s, {r['lines_per_s']:.0f} lines/s, "
            f"{r['total_s'] / result['floor_s']:.2f}x floor); {r['nodes']} nodes, {r['edges']} edges, "
            f"{r['dangling']} dangling"
        )
    ok = verdict(max(result["peak_gib"], result["peak_child_gib"]) <= 4)
    out.append(
        f"peak RSS {result['peak_gib']:.2f} GiB (largest worker {result['peak_child_gib']:.2f} GiB)"
        f"  {ok} (target <= 4 GiB); load {result['load_1min']:.2f}"
    )
    return "\n".join(out)


def main() -> int:
    """CLI: print a table (or JSON)."""
    parser = benchmark_parser("Whole CPG build over a tree of Python files.")
    add_tree(parser, "--root")
    args = parser.parse_args()
    emit(run(args.root), as_json=args.json, render=render)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
