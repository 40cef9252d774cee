"""Plan-compiler benchmark: cold and warm compile of a synthetic project against a sqlglot floor.

The floor is what any SQL-analysing tool must pay at least: a bare sqlglot parse + qualify of every
view file. The compiler does more (DataFusion planning, fingerprints, lineage, schedule), so the
issue's targets are relative to it: cold(1000) <= 2x floor, warm <= 0.1x cold, N=5000 within 2 GiB,
and cold(1000) < 10 s in absolute terms.

Each N runs in its own subprocess so the RSS high-water mark is per N, and a second fresh process
measures a warm compile the way a user sees it (a new `cpg plan` over an unchanged project).

    .venv/bin/python -m benchmarks.bench_compile                   # N = 100, 1000, 5000
    .venv/bin/python -m benchmarks.bench_compile --sizes 100,1000 --json

The exit status is 0 whatever the numbers: this is a report, read the PASS/MISS lines.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.floors import sql_floor
from benchmarks.harness import (
    GIB,
    Timer,
    add_repeats,
    add_seed,
    benchmark_parser,
    best_of,
    child_result,
    emit,
    load_1min,
    peak_rss,
    print_child_result,
    timed,
    verdict,
)
from tests.paths import REPO_ROOT
from tests.synthetic_project import generate_project, sql_type_of

DEFAULT_SIZES = (100, 1000, 5000)


def _floor_without_gc(root: Path, views: Sequence[str]) -> float:
    """The floor with the cyclic GC paused (the collector dominates sqlglot on big projects)."""
    gc.collect()
    gc.disable()
    try:
        return sql_floor(root, views)
    finally:
        gc.enable()
        gc.collect()


def _compile(root: Path, *, cache: bool) -> Any:
    """`load_project` + `compile_plan`: the unit a `cpg plan` user waits for."""
    from cpg_core.plan import compile_plan
    from cpg_core.project import load_project

    return compile_plan(load_project(root / "cpg.toml"), cache=cache)


def _check_plan(plan: Any, root: Path) -> dict[str, Any]:
    """Did the compiler see what the generator wrote? Tasks, problems, dependencies, schemas."""
    doc = json.loads((root / "_schemas.json").read_text(encoding="utf-8"))
    tasks: dict[str, Any] = dict(getattr(plan, "tasks", {}) or {})
    problems = list(getattr(plan, "problems", ()) or ())
    wrong_deps = [
        v
        for v in doc["views"]
        if v in tasks and set(getattr(tasks[v], "inputs", ())) != set(doc["upstreams"][v])
    ]
    wrong_schema: list[str] = []
    for v in doc["views"]:
        schema = getattr(tasks.get(v), "output_schema", None)
        got = None if schema is None else {f.name: sql_type_of(f.type) for f in schema}
        if got != doc["tables"][v]:
            wrong_schema.append(v)
    return {
        "tasks": len(tasks),
        "admitted": sum(1 for t in tasks.values() if getattr(t, "admitted", False)),
        "problems": len(problems),
        "first_problems": [str(p) for p in problems[:3]],
        "wrong_deps": wrong_deps[:5],
        "n_wrong_deps": len(wrong_deps),
        "wrong_schema": wrong_schema[:5],
        "n_wrong_schema": len(wrong_schema),
    }


def run_one(n: int, root: Path, seed: int, repeat: int = 1) -> dict[str, Any]:
    """Generate, then floor, cold and warm for one N, in this process (a fresh subprocess).

    The GC-paused floor runs last: with the collector off every AST's cycles stay alive until
    the end, which would otherwise set this process's RSS high-water mark.
    """
    out: dict[str, Any] = {"n": n, "seed": seed, "repeat": repeat}
    gen_s, project = timed(lambda: generate_project(root, n, seed=seed))
    views = project.views
    out |= {"gen_s": gen_s, "n_sources": len(project.sources), "n_layers": len(project.layers)}
    out["rss_after_gen_mib"] = peak_rss().own_mib
    try:  # import outside the timers: import cost is not compile cost
        import cpg_core.plan
        import cpg_core.project
    except ImportError as err:
        cpg_core_error: str | None = f"cpg_core not importable: {err}"
    else:
        cpg_core_error = None if hasattr(cpg_core.plan, "compile_plan") else "no compile_plan yet"

    out["floor_s"], out["floor_cpu_s"], _ = best_of(
        repeat, lambda: sql_floor(root, views), with_children=True
    )
    out["rss_after_floor_mib"] = peak_rss().own_mib
    if cpg_core_error is not None:
        out["compile_error"] = cpg_core_error
    else:
        try:
            cold = best_of(repeat, lambda: _compile(root, cache=False), with_children=True)
            out["cold_s"], out["cold_cpu_s"], plan = cold
            out["check"] = _check_plan(plan, root)
            del plan
            gc.collect()
            out["rss_after_cold_mib"] = peak_rss().own_mib
            out["populate_s"], plan = timed(lambda: _compile(root, cache=True))
            del plan
            gc.collect()
            warm = best_of(repeat, lambda: _compile(root, cache=True), with_children=True)
            out["warm_s"], out["warm_cpu_s"], plan = warm
            out["warm_check"] = _check_plan(plan, root)
            out["cache_note"] = getattr(plan, "cache_note", None)
            del plan
            gc.collect()
        except Exception:
            out["compile_error"] = traceback.format_exc(limit=8)
    out["rss_before_nogc_floor_mib"] = peak_rss().own_mib
    nogc = best_of(repeat, lambda: _floor_without_gc(root, views), with_children=True)
    out["floor_nogc_s"], out["floor_nogc_cpu_s"], _ = nogc
    return out


def run_fresh(root: Path, *, cache: bool) -> dict[str, Any]:
    """One compile in a new process: the user's `cpg plan`, and the peak RSS that it alone costs.

    `cache=False` measures the cold compile's memory (the N=5000 target); `cache=True` over a
    populated cache is the warm compile a user sees after an unchanged edit-save.
    """
    # Import outside the timed region (cpg_core.plan itself is lazy).
    importlib.import_module("cpg_core.plan.compiler")
    importlib.import_module("cpg_core.project")

    from cpg_core.plan.analysis_pool import worker_count

    label = "warm_fresh" if cache else "cold_fresh"
    try:
        with Timer() as timer:
            plan = _compile(root, cache=cache)
    except Exception:
        return {f"{label}_error": traceback.format_exc(limit=8)}
    peak = peak_rss()
    return {
        f"{label}_s": timer.wall,
        f"{label}_cpu_s": timer.cpu_with_children,
        f"{label}_main_rss_mib": peak.own_mib,
        f"{label}_worker_rss_mib": peak.largest_child_mib,
        # An upper bound of the sum: every worker counted at the largest one's peak.
        f"{label}_peak_rss_mib": peak.own_mib + worker_count() * peak.largest_child_mib,
        f"{label}_cache_note": getattr(plan, "cache_note", None),
    }


def _child(args: Sequence[str], timeout: float) -> dict[str, Any]:
    """Run this module in a subprocess and parse the JSON it prints last."""
    cmd = [sys.executable, "-m", "benchmarks.bench_compile", *args]
    try:
        proc = subprocess.run(
            cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s: {' '.join(args)}"}
    result = child_result(proc.stdout)
    if proc.returncode != 0 or result is None:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-2000:]}"}
    return result


def measure(
    n: int, seed: int, timeout: float, keep: Path | None, repeat: int = 1
) -> dict[str, Any]:
    """One N: generate + floor + cold + warm in one child; one cold and one warm in fresh ones."""
    with tempfile.TemporaryDirectory(prefix=f"cpg-bench-{n}-") as tmp:
        root = (keep / f"n{n}") if keep else Path(tmp) / "project"
        args = ["--one", str(n), "--root", str(root), "--seed", str(seed)]
        result = _child([*args, "--repeats", str(repeat)], timeout)
        if "warm_s" in result:
            result |= _child(["--cold-fresh", str(root)], timeout)
            result |= _child(["--warm-fresh", str(root)], timeout)
        result["peak_rss_mib"] = result.get("cold_fresh_peak_rss_mib")
        return result


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def targets(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, each PASS, MISS or n/a (not measured)."""
    by_n = {r["n"]: r for r in results}
    r1000, r5000 = by_n.get(1000, {}), by_n.get(5000, {})
    cold1000, floor1000 = r1000.get("cold_s"), r1000.get("floor_s")
    big = [r for r in results if r["n"] >= 1000] or list(results)  # small N: fixed costs rule
    warm_ratios = [(r["n"], _ratio(r.get("warm_s"), r.get("cold_s"))) for r in big if "warm_s" in r]
    peak5000 = r5000.get("peak_rss_mib")

    def status(ok: bool | None) -> str:
        return "n/a" if ok is None else verdict(ok)

    cold_ratio = _ratio(cold1000, floor1000)
    return [
        {
            "target": "cold(1000) <= 2x floor(1000)",
            "value": cold_ratio,
            "status": status(None if cold_ratio is None else cold_ratio <= 2.0),
        },
        {
            "target": "warm <= 0.1x cold (every N >= 1000)",
            "value": max((x for _, x in warm_ratios if x is not None), default=None),
            "status": status(
                None if not warm_ratios else all(x is not None and x <= 0.1 for _, x in warm_ratios)
            ),
        },
        {
            "target": "N=5000 peak RSS of a cold compile <= 2 GiB",
            "value": peak5000,
            "status": status(None if peak5000 is None else peak5000 * 1024**2 <= 2 * GIB),
        },
        {
            "target": "cold(1000) < 10 s",
            "value": cold1000,
            "status": status(None if cold1000 is None else cold1000 < 10.0),
        },
    ]


def _cell(value: object, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def report(results: Sequence[dict[str, Any]], verdicts: Sequence[dict[str, Any]]) -> str:
    """A plain-text table per N, then the targets and anything that went wrong."""
    columns: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("N", lambda r: str(r["n"])),
        ("layers", lambda r: _cell(r.get("n_layers"), "d")),
        ("floor s", lambda r: _cell(r.get("floor_s"))),
        ("nogc s", lambda r: _cell(r.get("floor_nogc_s"))),
        ("cold s", lambda r: _cell(r.get("cold_s"))),
        ("cold1st s", lambda r: _cell(r.get("cold_fresh_s"))),
        ("warm s", lambda r: _cell(r.get("warm_s"), ".3f")),
        ("warm1st s", lambda r: _cell(r.get("warm_fresh_s"), ".3f")),
        ("cold/floor", lambda r: _cell(_ratio(r.get("cold_s"), r.get("floor_s")))),
        ("warm/cold", lambda r: _cell(_ratio(r.get("warm_s"), r.get("cold_s")), ".3f")),
        ("cpu c/f", lambda r: _cell(_ratio(r.get("cold_cpu_s"), r.get("floor_cpu_s")))),
        ("peak MiB", lambda r: _cell(r.get("peak_rss_mib"), ".0f")),
        ("problems", lambda r: _cell((r.get("check") or {}).get("problems"), "d")),
    ]
    head = " ".join(f"{name:>10}" for name, _ in columns)
    lines = [head, "-" * len(head)]
    lines += [" ".join(f"{cell(r):>10}" for _, cell in columns) for r in results]
    lines += [
        "",
        "floor: bare sqlglot parse+qualify of every view (GC on); nogc: the same, GC paused",
        "cold/warm: load_project + compile_plan(cache=False/True) in the floor's process",
        "cold1st/warm1st: the same in a fresh process; peak MiB: RSS high-water of cold1st,",
        "  its analysis workers included (each counted at the largest one's peak)",
        "cpu c/f: cold/floor in CPU seconds, the workers' included (the work, not the wait)",
        "",
    ]
    lines += [
        f"{v['status']:<4}  {v['target']}  (value: {_cell(v['value'], '.3f')})" for v in verdicts
    ]
    for r in results:
        for key in ("error", "compile_error", "cold_fresh_error", "warm_fresh_error"):
            if r.get(key):
                lines += ["", f"N={r['n']} {key}:", str(r[key])]
        for key in ("check", "warm_check"):
            check = r.get(key) or {}
            if check.get("problems") or check.get("n_wrong_deps") or check.get("n_wrong_schema"):
                lines += ["", f"N={r['n']} {key}: {json.dumps(check, indent=2)}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry; the `--one` and `--warm-fresh` modes are the per-N subprocesses."""
    parser = benchmark_parser(__doc__, json_help="print machine-readable results")
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    add_seed(parser)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per subprocess")
    parser.add_argument("--keep", type=Path, help="generate projects here instead of a temp dir")
    add_repeats(parser, 1, help="time floor/cold/warm this often, keep the fastest")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cold-fresh", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--warm-fresh", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one is not None:
        print_child_result(run_one(args.one, args.root, args.seed, args.repeats))
        return 0
    if args.cold_fresh is not None:
        print_child_result(run_fresh(args.cold_fresh, cache=False))
        return 0
    if args.warm_fresh is not None:
        print_child_result(run_fresh(args.warm_fresh, cache=True))
        return 0

    sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    load_before = load_1min()
    results: list[dict[str, Any]] = []
    for n in sizes:
        result = {"n": n} | measure(n, args.seed, args.timeout, args.keep, args.repeats)
        results.append(result)
        if not args.json:
            print(f"N={n} done", file=sys.stderr, flush=True)
    verdicts = targets(results)
    env = {
        "cpus": os.cpu_count(),
        "load_1min_before": load_before,
        "load_1min_after": load_1min(),
        "python": sys.version.split()[0],
        "repeat": args.repeats,
    }
    emit(
        {"results": results, "targets": verdicts, "env": env},
        as_json=args.json,
        render=lambda _: (
            f"{report(results, verdicts)}\n\nmachine: {json.dumps(env)} "
            "(other load skews timings: compare ratios)"
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
