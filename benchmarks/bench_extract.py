"""Extraction benchmark over the installed standard library, against an ast+symtable floor.

The floor is what any symtable-aware Python extractor must pay at least: ``ast.parse`` plus
``symtable`` of every file (bytes already in memory, nothing else). Extraction does more (read, hash,
decode, one AST walk, symtable walk and alignment, Arrow tables, merge), so the targets are relative:
serial extraction <= 2.5x the serial floor, extraction with 2 workers >= 1.6x faster than serial, and
peak memory <= 4 GiB. Both are measured in the same run, serially and over the same scan units in a
spawn pool.

    .venv/bin/python -m benchmarks.bench_extract                  # stdlib, 2 workers
    .venv/bin/python -m benchmarks.bench_extract --root PATH --workers 2 --json

The exit status is 0 whatever the numbers: this is a report, read the PASS/MISS lines. The machine
may be shared; the load average at start is printed with the results.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `cpg_core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.floors import python_floor, python_floor_unit, read_unit
from benchmarks.harness import (
    GIB,
    Timer,
    add_tree,
    benchmark_parser,
    emit,
    load_1min,
    peak_rss,
    timed,
    verdict,
)
from cpg_core.extract import extract_units, scan_repo
from cpg_core.extract.model import ScanUnit

TARGET_FLOOR_RATIO = 2.5
TARGET_SPEEDUP = 1.6


def _floor_parallel(units: Sequence[ScanUnit], workers: int) -> float:
    """Wall time of the floor over all units in a spawn pool (workers started before timing)."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        list(pool.map(abs, range(workers * 4)))  # start the workers outside the measurement
        ordered = sorted(units, key=lambda u: -u.total_bytes)
        seconds, _ = timed(lambda: list(pool.map(python_floor_unit, ordered)))
        return seconds


def run(root: Path, workers: int) -> dict[str, Any]:
    """Measure scan, floor and extraction (serial and parallel) over ``root``."""
    load = load_1min()
    scan_s, scan = timed(lambda: scan_repo(root))
    sources = [data for unit in scan.units for data in read_unit(unit)]
    n_files = len(scan.files)
    n_bytes = sum(len(d) for d in sources)
    n_lines = sum(d.count(b"\n") + (0 if d.endswith(b"\n") or not d else 1) for d in sources)

    with Timer() as floor:
        floor_failed = python_floor(sources)
    floor_s, floor_cpu = floor.wall, floor.cpu
    sources.clear()
    with Timer() as serial_timer:
        serial = extract_units(scan.units, workers=1)
    serial_s, serial_cpu = serial_timer.wall, serial_timer.cpu
    rows = {name: table.num_rows for name, table in serial.items()}
    del serial
    gc.collect()
    floor_par_s = _floor_parallel(scan.units, workers)
    with Timer() as parallel_timer:
        parallel = extract_units(scan.units, workers=workers)
    parallel_s = parallel_timer.wall
    par_main_cpu, par_kids_cpu = parallel_timer.cpu, parallel_timer.children_cpu
    assert {name: t.num_rows for name, t in parallel.items()} == rows
    del parallel
    peak = peak_rss()
    own_mib, child_mib = peak.own_mib, peak.largest_child_mib
    return {
        "root": str(root),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": round(load, 2),
        "files": n_files,
        "lines": n_lines,
        "bytes": n_bytes,
        "units": len(scan.units),
        "workers": workers,
        "rows": rows,
        "floor_failed_files": floor_failed,
        "seconds": {
            "scan": round(scan_s, 3),
            "floor_serial": round(floor_s, 3),
            "extract_serial": round(serial_s, 3),
            "floor_parallel": round(floor_par_s, 3),
            "extract_parallel": round(parallel_s, 3),
        },
        "cpu_seconds": {
            "floor_serial": round(floor_cpu, 3),
            "extract_serial": round(serial_cpu, 3),
            "extract_parallel_main": round(par_main_cpu, 3),
            "extract_parallel_workers": round(par_kids_cpu, 3),
        },
        "files_per_s": {
            "floor_serial": round(n_files / floor_s, 1),
            "extract_serial": round(n_files / serial_s, 1),
            "floor_parallel": round(n_files / floor_par_s, 1),
            "extract_parallel": round(n_files / parallel_s, 1),
        },
        "lines_per_s": {
            "floor_serial": round(n_lines / floor_s),
            "extract_serial": round(n_lines / serial_s),
            "floor_parallel": round(n_lines / floor_par_s),
            "extract_parallel": round(n_lines / parallel_s),
        },
        "ratios": {
            "extract_serial_over_floor": round(serial_s / floor_s, 2),
            "extract_serial_over_floor_cpu": round(serial_cpu / floor_cpu, 2),
            "parallel_speedup": round(serial_s / parallel_s, 2),
            "floor_parallel_speedup": round(floor_s / floor_par_s, 2),
        },
        "peak_rss_mib": {"main": round(own_mib, 1), "largest_child": round(child_mib, 1)},
    }


def report(result: dict[str, Any]) -> str:
    """A small table, the ratios and PASS/MISS against the targets."""
    s, fps, lps = result["seconds"], result["files_per_s"], result["lines_per_s"]
    lines = [
        f"root {result['root']}  (Python {result['python']}, {result['cpus']} cpus, "
        f"load {result['load_avg_1m_at_start']} at start)",
        f"{result['files']} files, {result['lines']} lines, {result['bytes'] / 1e6:.1f} MB, "
        f"{result['units']} scan units, scan {s['scan']:.2f} s",
        "",
        f"{'':22}{'seconds':>10}{'files/s':>10}{'lines/s':>10}",
    ]
    for key, label in (
        ("floor_serial", "floor, 1 process"),
        ("extract_serial", "extract, 1 process"),
        ("floor_parallel", f"floor, {result['workers']} workers"),
        ("extract_parallel", f"extract, {result['workers']} workers"),
    ):
        lines.append(f"{label:22}{s[key]:>10.2f}{fps[key]:>10.0f}{lps[key]:>10.0f}")
    r, mem, cpu = result["ratios"], result["peak_rss_mib"], result["cpu_seconds"]
    peak = max(mem["main"], mem["largest_child"])
    lines += [
        "",
        f"extract / floor (serial):      {r['extract_serial_over_floor']:.2f}x wall, "
        f"{r['extract_serial_over_floor_cpu']:.2f}x CPU",
        f"parallel speedup (extract):    {r['parallel_speedup']:.2f}x "
        f"(floor: {r['floor_parallel_speedup']:.2f}x)",
        f"CPU seconds: serial {cpu['extract_serial']:.1f}; parallel main "
        f"{cpu['extract_parallel_main']:.1f} + workers {cpu['extract_parallel_workers']:.1f}",
        f"peak RSS: main {mem['main']:.0f} MiB, largest child {mem['largest_child']:.0f} MiB",
        "",
        _target(
            r["extract_serial_over_floor"] <= TARGET_FLOOR_RATIO,
            f"extraction <= {TARGET_FLOOR_RATIO}x floor on one process",
        ),
        _target(
            r["parallel_speedup"] >= TARGET_SPEEDUP,
            f"parallel extraction >= {TARGET_SPEEDUP}x faster than serial",
        ),
        _target(peak * 1024**2 <= 4 * GIB, "peak memory <= 4 GiB"),
    ]
    return "\n".join(lines)


def _target(ok: bool, text: str) -> str:
    return f"{verdict(ok)}  {text}"


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    parser = benchmark_parser(__doc__, json_help="print the result as JSON")
    add_tree(parser, "--root")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    result = run(args.root, args.workers)
    emit(result, as_json=args.json, render=report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
