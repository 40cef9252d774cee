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
import json
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.synthetic_project import generate_project, load_schemas, sql_type_of

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = (100, 1000, 5000)
GIB = 1024**3
T = TypeVar("T")


def _peak_rss_mib() -> float:
    """RSS high-water mark of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Wall time of one call and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def floor(root: Path, views: Sequence[str]) -> float:
    """Seconds for bare sqlglot parse + qualify of every view file read from disk, nothing else."""
    import sqlglot
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.schema import MappingSchema

    start = time.perf_counter()
    tables: dict[str, object] = dict(load_schemas(root))
    schema = MappingSchema(tables, dialect="postgres")
    for name in views:
        text = (root / "views" / f"{name}.sql").read_text(encoding="utf-8")
        ast = sqlglot.parse_one(text, read="postgres")
        qualify(ast, schema=schema, dialect="postgres", validate_qualify_columns=True)
    return time.perf_counter() - start


def _floor_without_gc(root: Path, views: Sequence[str]) -> float:
    """The floor with the cyclic GC paused (FACTS.md: GC dominates sqlglot on big projects)."""
    gc.collect()
    gc.disable()
    try:
        return floor(root, views)
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


def run_one(n: int, root: Path, seed: int) -> dict[str, Any]:
    """Everything measured for one N, in this process (called in a fresh subprocess)."""
    out: dict[str, Any] = {"n": n, "seed": seed}
    gen_s, project = _timed(lambda: generate_project(root, n, seed=seed))
    views = project.views
    out |= {"gen_s": gen_s, "n_sources": len(project.sources), "n_layers": len(project.layers)}
    try:  # import outside the timers: import cost is not compile cost
        import cpg_core.plan
        import cpg_core.project
    except ImportError as err:
        cpg_core_error: str | None = f"cpg_core not importable: {err}"
    else:
        cpg_core_error = None if hasattr(cpg_core.plan, "compile_plan") else "no compile_plan yet"

    out["floor_s"] = floor(root, views)
    out["floor_nogc_s"] = _floor_without_gc(root, views)
    out["rss_after_floor_mib"] = _peak_rss_mib()
    if cpg_core_error is not None:
        out["compile_error"] = cpg_core_error
        out["peak_rss_mib"] = _peak_rss_mib()
        return out
    try:
        out["cold_s"], plan = _timed(lambda: _compile(root, cache=False))
        out["check"] = _check_plan(plan, root)
        del plan
        gc.collect()
        out["rss_after_cold_mib"] = _peak_rss_mib()
        out["populate_s"], plan = _timed(lambda: _compile(root, cache=True))
        del plan
        gc.collect()
        out["warm_s"], plan = _timed(lambda: _compile(root, cache=True))
        out["warm_check"] = _check_plan(plan, root)
        out["cache_note"] = getattr(plan, "cache_note", None)
        del plan
    except Exception:
        out["compile_error"] = traceback.format_exc(limit=8)
    out["peak_rss_mib"] = _peak_rss_mib()
    return out


def run_warm_fresh(root: Path) -> dict[str, Any]:
    """A warm compile in a new process over an already populated cache (the CLI user's case)."""
    import cpg_core.plan
    import cpg_core.project  # noqa: F401

    try:
        seconds, _ = _timed(lambda: _compile(root, cache=True))
    except Exception:
        return {"warm_fresh_error": traceback.format_exc(limit=8)}
    return {"warm_fresh_s": seconds, "warm_fresh_peak_rss_mib": _peak_rss_mib()}


def _child(args: Sequence[str], timeout: float) -> dict[str, Any]:
    """Run this module in a subprocess and parse the JSON it prints last."""
    cmd = [sys.executable, "-m", "benchmarks.bench_compile", *args]
    try:
        proc = subprocess.run(
            cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s: {' '.join(args)}"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-2000:]}"}
    return json.loads(lines[-1])


def measure(n: int, seed: int, timeout: float, keep: Path | None) -> dict[str, Any]:
    """One N: generate + floor + cold + warm in one child, then a warm compile in another."""
    with tempfile.TemporaryDirectory(prefix=f"cpg-bench-{n}-") as tmp:
        root = (keep / f"n{n}") if keep else Path(tmp) / "project"
        result = _child(["--one", str(n), "--root", str(root), "--seed", str(seed)], timeout)
        if "warm_s" in result:
            result |= _child(["--warm-fresh", str(root)], timeout)
        return result


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def targets(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, each PASS, MISS or n/a (not measured)."""
    by_n = {r["n"]: r for r in results}
    r1000, r5000 = by_n.get(1000, {}), by_n.get(5000, {})
    cold1000, floor1000 = r1000.get("cold_s"), r1000.get("floor_s")
    warm_ratios = [
        (r["n"], _ratio(r.get("warm_s"), r.get("cold_s"))) for r in results if "warm_s" in r
    ]
    peak5000 = r5000.get("peak_rss_mib") if "cold_s" in r5000 else None

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("PASS" if ok else "MISS")

    cold_ratio = _ratio(cold1000, floor1000)
    return [
        {
            "target": "cold(1000) <= 2x floor(1000)",
            "value": cold_ratio,
            "status": verdict(None if cold_ratio is None else cold_ratio <= 2.0),
        },
        {
            "target": "warm <= 0.1x cold (every N)",
            "value": max((x for _, x in warm_ratios if x is not None), default=None),
            "status": verdict(
                None if not warm_ratios else all(x is not None and x <= 0.1 for _, x in warm_ratios)
            ),
        },
        {
            "target": "N=5000 peak RSS <= 2 GiB",
            "value": peak5000,
            "status": verdict(None if peak5000 is None else peak5000 * 1024**2 <= 2 * GIB),
        },
        {
            "target": "cold(1000) < 10 s",
            "value": cold1000,
            "status": verdict(None if cold1000 is None else cold1000 < 10.0),
        },
    ]


def _fmt(value: object, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def report(results: Sequence[dict[str, Any]], verdicts: Sequence[dict[str, Any]]) -> str:
    """A plain-text table per N, then the targets and anything that went wrong."""
    head = (
        f"{'N':>6} {'layers':>6} {'floor s':>8} {'nogc s':>7} {'cold s':>7} {'warm s':>7} "
        f"{'warm1st s':>9} {'cold/floor':>10} {'warm/cold':>9} {'peak MiB':>9} {'problems':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        check = r.get("check") or {}
        lines.append(
            f"{r['n']:>6} {_fmt(r.get('n_layers'), 'd'):>6} {_fmt(r.get('floor_s')):>8} "
            f"{_fmt(r.get('floor_nogc_s')):>7} {_fmt(r.get('cold_s')):>7} "
            f"{_fmt(r.get('warm_s'), '.3f'):>7} {_fmt(r.get('warm_fresh_s'), '.3f'):>9} "
            f"{_fmt(_ratio(r.get('cold_s'), r.get('floor_s'))):>10} "
            f"{_fmt(_ratio(r.get('warm_s'), r.get('cold_s')), '.3f'):>9} "
            f"{_fmt(r.get('peak_rss_mib'), '.0f'):>9} {_fmt(check.get('problems'), 'd'):>8}"
        )
    lines += [
        "",
        "floor = sqlglot parse+qualify (GC on); nogc = same with GC paused; "
        "warm1st = warm compile in a fresh process",
        "",
    ]
    for v in verdicts:
        lines.append(f"{v['status']:<4}  {v['target']}  (value: {_fmt(v['value'], '.3f')})")
    for r in results:
        for key in ("error", "compile_error", "warm_fresh_error"):
            if r.get(key):
                lines += ["", f"N={r['n']} {key}:", str(r[key])]
        for key in ("check", "warm_check"):
            check = r.get(key) or {}
            if check.get("problems") or check.get("n_wrong_deps") or check.get("n_wrong_schema"):
                lines += ["", f"N={r['n']} {key}: {json.dumps(check, indent=2)}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry; the `--one` and `--warm-fresh` modes are the per-N subprocesses."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per subprocess")
    parser.add_argument("--keep", type=Path, help="generate projects here instead of a temp dir")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--warm-fresh", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one is not None:
        print(json.dumps(run_one(args.one, args.root, args.seed)))
        return 0
    if args.warm_fresh is not None:
        print(json.dumps(run_warm_fresh(args.warm_fresh)))
        return 0

    sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    results: list[dict[str, Any]] = []
    for n in sizes:
        result = {"n": n} | measure(n, args.seed, args.timeout, args.keep)
        results.append(result)
        if not args.json:
            print(f"N={n} done", file=sys.stderr, flush=True)
    verdicts = targets(results)
    if args.json:
        print(json.dumps({"results": results, "targets": verdicts}, indent=2))
    else:
        print(report(results, verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
