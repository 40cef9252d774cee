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

import argparse
import ast
import gc
import json
import multiprocessing
import os
import resource
import symtable
import sys
import sysconfig
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `cpg_core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cpg_core.extract import extract_units, scan_repo
from cpg_core.extract.model import ScanUnit

GIB = 1024**3
T = TypeVar("T")
TARGET_FLOOR_RATIO = 2.5
TARGET_SPEEDUP = 1.6


def _timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _cpu() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def _timed_cpu(fn: Callable[[], T]) -> tuple[float, float, float, T]:
    """Wall seconds, own CPU seconds, children's CPU seconds of one call, and its result."""
    own0, kids0 = _cpu()
    wall, result = _timed(fn)
    own1, kids1 = _cpu()
    return wall, own1 - own0, kids1 - kids0, result


def _peak_rss_mib() -> tuple[float, float]:
    """RSS high-water marks (MiB) of this process and of its largest child (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def _read_unit(unit: ScanUnit) -> list[bytes]:
    out = []
    for info in unit.files:
        try:
            out.append((Path(unit.root) / info.os_path).read_bytes())
        except OSError:
            continue
    return out


def floor_sources(sources: Sequence[bytes]) -> int:
    """``ast.parse`` + ``symtable`` of each source, nothing else; returns how many failed."""
    failed = 0
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for data in sources:
                try:
                    ast.parse(data)
                    # symtable accepts bytes at run time (stubs say str); decoding would inflate the floor.
                    symtable.symtable(data, "<floor>", "exec")  # type: ignore[arg-type]
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    failed += 1
    finally:
        if was_enabled:
            gc.enable()
    return failed


def floor_unit(unit: ScanUnit) -> float:
    """Pool task: read a unit's files (untimed), then time the floor over them."""
    sources = _read_unit(unit)
    start = time.perf_counter()
    floor_sources(sources)
    return time.perf_counter() - start


def _floor_parallel(units: Sequence[ScanUnit], workers: int) -> float:
    """Wall time of the floor over all units in a spawn pool (workers started before timing)."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        list(pool.map(abs, range(workers * 4)))  # start the workers outside the measurement
        ordered = sorted(units, key=lambda u: -u.total_bytes)
        start = time.perf_counter()
        list(pool.map(floor_unit, ordered))
        return time.perf_counter() - start


def run(root: Path, workers: int) -> dict[str, Any]:
    """Measure scan, floor and extraction (serial and parallel) over ``root``."""
    load = os.getloadavg()[0]
    scan_s, scan = _timed(lambda: scan_repo(root))
    sources = [data for unit in scan.units for data in _read_unit(unit)]
    n_files = len(scan.files)
    n_bytes = sum(len(d) for d in sources)
    n_lines = sum(d.count(b"\n") + (0 if d.endswith(b"\n") or not d else 1) for d in sources)

    floor_s, floor_cpu, _, floor_failed = _timed_cpu(lambda: floor_sources(sources))
    sources.clear()
    serial_s, serial_cpu, _, serial = _timed_cpu(lambda: extract_units(scan.units, workers=1))
    rows = {name: table.num_rows for name, table in serial.items()}
    del serial
    gc.collect()
    floor_par_s = _floor_parallel(scan.units, workers)
    parallel_s, par_main_cpu, par_kids_cpu, parallel = _timed_cpu(
        lambda: extract_units(scan.units, workers=workers)
    )
    assert {name: t.num_rows for name, t in parallel.items()} == rows
    del parallel
    own_mib, child_mib = _peak_rss_mib()
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
        _verdict(
            r["extract_serial_over_floor"] <= TARGET_FLOOR_RATIO,
            f"extraction <= {TARGET_FLOOR_RATIO}x floor on one process",
        ),
        _verdict(
            r["parallel_speedup"] >= TARGET_SPEEDUP,
            f"parallel extraction >= {TARGET_SPEEDUP}x faster than serial",
        ),
        _verdict(peak * 1024**2 <= 4 * GIB, "peak memory <= 4 GiB"),
    ]
    return "\n".join(lines)


def _verdict(ok: bool, text: str) -> str:
    return f"{'PASS' if ok else 'MISS'}  {text}"


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = run(args.root, args.workers)
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
