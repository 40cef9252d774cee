"""Whole CPG build over the installed standard library: extraction + the built-in views.

Reports files/s and lines/s of the whole build (serial extraction, and 2 extraction workers),
beside the floor measured in the same run (`ast.parse` + `symtable` of the same files, nothing
else), with the peak RSS of the process (and of its workers). The views run through the compiled
plan in schedule order over DataFusion (`run_plan_direct`, the reference executor).

    .venv/bin/python -m benchmarks.bench_cpg_build [--root PATH] [--json]

Exit status 0 whatever the numbers: this is a report.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `cpg_core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_extract import floor_unit
from cpg_core.execute.direct import run_plan_direct
from cpg_core.extract import extract_repo, scan_repo
from cpg_core.plan import compile_plan
from cpg_core.project import Project

GIB = 1024**3
_KEEP = {"cpg_nodes", "cpg_edges", "cpg_props", "check_dangling_edges"}


def _peak_gib() -> tuple[float, float]:
    """RSS high-water marks (GiB) of this process and of its largest finished child."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / GIB
    return own, child


def run(root: Path) -> dict[str, Any]:
    """Floor, then a whole build with 1 and with 2 extraction workers."""
    scan = scan_repo(root)
    files = len(scan.files)
    start = time.perf_counter()
    for unit in scan.units:
        floor_unit(unit)
    floor_s = time.perf_counter() - start
    plan = compile_plan(Project.from_views([], include_cpg=True), cache=False)
    result: dict[str, Any] = {"root": str(root), "files": files, "floor_s": floor_s}
    for workers in (1, 2):
        t0 = time.perf_counter()
        evidence = extract_repo(root, workers=workers)
        t1 = time.perf_counter()
        lines = sum(n or 0 for n in evidence["files"].column("line_count").to_pylist())
        result["lines"] = lines
        # Hand the evidence over (no reference kept here) so tables are released after use.
        inputs, evidence = evidence, {}
        outputs = run_plan_direct(plan, inputs, keep=_KEEP)
        del inputs
        t2 = time.perf_counter()
        result[f"w{workers}"] = {
            "extract_s": t1 - t0,
            "views_s": t2 - t1,
            "total_s": t2 - t0,
            "files_per_s": files / (t2 - t0),
            "lines_per_s": lines / (t2 - t0),
            "nodes": outputs["cpg_nodes"].num_rows,
            "edges": outputs["cpg_edges"].num_rows,
            "dangling": outputs["check_dangling_edges"].num_rows,
        }
        del evidence, outputs
    own, child = _peak_gib()
    result |= {"peak_gib": own, "peak_child_gib": child, "load_1min": os.getloadavg()[0]}
    return result


def main() -> int:
    """CLI: print a table (or JSON)."""
    parser = argparse.ArgumentParser(description="Whole CPG build over a tree of Python files.")
    parser.add_argument("--root", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.root)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"{result['files']} files, {result['lines']} lines; floor (ast+symtable) {result['floor_s']:.1f} s"
    )
    for workers in (1, 2):
        r = result[f"w{workers}"]
        print(
            f"workers={workers}: extract {r['extract_s']:.1f} s + views {r['views_s']:.1f} s = "
            f"{r['total_s']:.1f} s ({r['files_per_s']:.0f} files/s, {r['lines_per_s']:.0f} lines/s, "
            f"{r['total_s'] / result['floor_s']:.2f}x floor); {r['nodes']} nodes, {r['edges']} edges, "
            f"{r['dangling']} dangling"
        )
    verdict = "PASS" if max(result["peak_gib"], result["peak_child_gib"]) <= 4 else "MISS"
    print(
        f"peak RSS {result['peak_gib']:.2f} GiB (largest worker {result['peak_child_gib']:.2f} GiB)"
        f"  {verdict} (target <= 4 GiB); load {result['load_1min']:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
