"""Incremental extraction over a copy of the installed standard library, and Hamilton's overhead.

Phases, each in a fresh process (so each has its own peak RSS, as a new ``cpg build`` would):

- ``units`` / ``hamilton``: cold extraction with `extract_repo` (the spawn pool of `extract_units`)
  and with the Hamilton flow (`hamilton_extract`), same workers: the Hamilton overhead ratio.
- ``cold``: `extract_incremental` with an empty state directory (extract, canonicalize, write).
- ``nochange``: the same again: nothing to extract, sort or hash.
- ``onechange``: after appending a function to one file.
- ``verify``: a cold incremental run of the edited copy into a fresh state directory; its data
  versions must equal the one-change run's.

Hamilton is imported before the timed call in every phase (a `cpg build` has imported it anyway
for the views), so the numbers are extraction's own.

    .venv/bin/python -m benchmarks.bench_extract_incremental              # stdlib, 2 workers
    .venv/bin/python -m benchmarks.bench_extract_incremental --hamilton-rounds 3 --json

The copy lives in a temporary directory (deleted at the end) so the benchmark can edit a file.
The machine may be shared: the load average at start is printed with the results.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `cpg_core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import (
    Timer,
    add_tree,
    benchmark_parser,
    child_result,
    emit,
    load_1min,
    peak_rss,
    print_child_result,
)
from tests.paths import REPO_ROOT

EDITED = "json/encoder.py"
EDIT = "\n\ndef _bench_added(value):\n    return encode_basestring(str(value))\n"
SKIP = {"site-packages", "dist-packages", "__pycache__"}


def copy_python_tree(source: Path, target: Path) -> None:
    """Copy every ``*.py`` file (and the folders holding them) below `source` into `target`."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        here = Path(directory)
        return {
            n for n in names if n in SKIP or (not n.endswith(".py") and not (here / n).is_dir())
        }

    shutil.copytree(source, target, symlinks=True, ignore=ignore)


def _phase(phase: str, root: str, state: str, workers: int) -> dict[str, Any]:
    """One measured call in this (fresh) process; returns seconds, counts and peak RSS."""
    import hamilton.driver  # noqa: F401  (imported outside the timing, as in a `cpg build`)

    import cpg_core.extract.hamilton_exec as hamilton_exec
    from cpg_core.extract import extract_repo
    from cpg_core.extract.incremental import extract_incremental

    out: dict[str, Any] = {"phase": phase}
    with Timer() as timer:
        if phase == "units":
            tables = extract_repo(root, workers=workers)
            out["files"] = tables["files"].num_rows
        elif phase == "hamilton":
            tables = hamilton_exec.hamilton_extract(root, workers=workers)
            out["files"] = tables["files"].num_rows
        else:
            result = extract_incremental(root, state_dir=Path(state), workers=workers)
            out.update(
                files=result.files,
                extracted=len(result.extracted),
                reused=result.reused,
                note=result.note,
                data_versions=result.data_versions,
            )
    out["seconds"] = timer.wall
    out["main_cpu_seconds"] = timer.cpu  # a spinning run loop shows here
    out["workers_cpu_seconds"] = timer.children_cpu  # a fresh process: its only children
    peak = peak_rss()
    out["peak_rss_mib"] = {
        "main": round(peak.own_mib, 1),
        "largest_child": round(peak.largest_child_mib, 1),
    }
    return out


def _run_phase(phase: str, root: Path, state: Path, workers: int) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_extract_incremental",
        "--phase",
        phase,
        "--root",
        str(root),
        "--state",
        str(state),
        "--workers",
        str(workers),
    ]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    result = child_result(done.stdout)
    assert result is not None, f"phase {phase} printed no result: {done.stdout[-2000:]}"
    return result


def run(source: Path, workers: int, hamilton: int, verify: bool) -> dict[str, Any]:
    """All phases over a copy of `source`."""
    load = load_1min()
    with tempfile.TemporaryDirectory(prefix="cpg-bench-incr-") as scratch:
        root = Path(scratch) / "stdlib"
        copy_python_tree(source, root)
        state = Path(scratch) / "store" / "_cpg" / "extract"
        phases: dict[str, dict[str, Any]] = {}
        pairs: list[tuple[float, float]] = []
        for round_ in range(hamilton):  # alternate, so drift on a shared machine hits both
            order = ("units", "hamilton") if round_ % 2 == 0 else ("hamilton", "units")
            got = {phase: _run_phase(phase, root, state, workers) for phase in order}
            pairs.append((got["units"]["seconds"], got["hamilton"]["seconds"]))
            for phase, measured in got.items():
                key = phase if round_ == 0 else f"{phase}_{round_ + 1}"
                phases[key] = measured
        for phase in ("cold", "nochange"):
            phases[phase] = _run_phase(phase, root, state, workers)
        edited = root / EDITED
        edited.write_text(edited.read_text(encoding="utf-8") + EDIT, encoding="utf-8")
        phases["onechange"] = _run_phase("onechange", root, state, workers)
        if verify:
            fresh = Path(scratch) / "fresh" / "_cpg" / "extract"
            phases["verify"] = _run_phase("verify", root, fresh, workers)
    cold = phases["cold"]["seconds"]
    ratios = {
        "nochange_over_cold": phases["nochange"]["seconds"] / cold,
        "onechange_over_cold": phases["onechange"]["seconds"] / cold,
    }
    if pairs:
        units = sorted(u for u, _ in pairs)
        hams = sorted(h for _, h in pairs)
        ratios["hamilton_over_units_median"] = hams[len(hams) // 2] / units[len(units) // 2]
        ratios["hamilton_over_units_best"] = hams[0] / units[0]
    checks = {
        "nochange_extracted_nothing": phases["nochange"]["extracted"] == 0,
        "onechange_extracted_one": phases["onechange"]["extracted"] == 1,
    }
    if verify:
        checks["onechange_equals_cold"] = (
            phases["onechange"]["data_versions"] == phases["verify"]["data_versions"]
        )
    for phase in phases.values():
        phase.pop("data_versions", None)
    return {
        "source": str(source),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": round(load, 2),
        "workers": workers,
        "phases": phases,
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
        "checks": checks,
    }


def report(result: dict[str, Any]) -> str:
    """A small table and the ratios."""
    lines = [
        f"source {result['source']}  (Python {result['python']}, {result['cpus']} cpus, "
        f"{result['workers']} workers, load {result['load_avg_1m_at_start']} at start)",
        f"{'phase':<10} {'seconds':>8} {'main CPU s':>10} {'workers CPU s':>13} {'files':>6} "
        f"{'extracted':>9} "
        f"{'peak RSS main':>14} {'largest child':>14}",
    ]
    for name, phase in result["phases"].items():
        rss = phase["peak_rss_mib"]
        lines.append(
            f"{name:<10} {phase['seconds']:>8.2f} {phase['main_cpu_seconds']:>10.2f} "
            f"{phase['workers_cpu_seconds']:>13.2f} {phase['files']:>6} "
            f"{phase.get('extracted', '-')!s:>9} {rss['main']:>10.0f} MiB "
            f"{rss['largest_child']:>10.0f} MiB"
        )
    for key, value in result["ratios"].items():
        lines.append(f"{key}: {value:.3f}")
    for key, ok in result["checks"].items():
        lines.append(f"{key}: {'OK' if ok else 'FAILED'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(
        "Incremental extraction benchmark.", json_help="print the results as JSON"
    )
    add_tree(parser, "--source")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--hamilton-rounds",
        type=int,
        default=1,
        help="alternating extract_repo / Hamilton pairs for the overhead ratio (0 skips them)",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the cold re-extraction")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        print_child_result(_phase(args.phase, args.root, args.state, args.workers))
        return 0
    result = run(args.source, args.workers, args.hamilton_rounds, not args.no_verify)
    emit(result, as_json=args.json, render=report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
