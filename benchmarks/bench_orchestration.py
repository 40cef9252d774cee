"""Orchestration cost on real work: the built-in CPG views over the stdlib's evidence (issue 4).

The evidence is extracted once (`extract_repo(stdlib, workers=2)`). Each repeat then runs, in
this process and back to back:

- **direct**: the same SQL in ONE DataFusion `SessionContext`: evidence tables registered,
  every admitted view (persisted and inline) run in the plan's topological order with the same
  read-only options, its result registered as a table. Nothing is stored or hashed.
- **build**: `cpg_core.execute.build` (serial, a fresh store each repeat, so the Hamilton cache is
  cold): Hamilton driver + plan executor, a fresh DataFusion context per node, every output
  canonicalized (store types, canonical row order) and hashed, evidence and outputs written to
  Delta, events, state and manifest.

- **direct + store**: direct, then the same store work the build does, done plainly in this
  thread: every evidence table and persisted output canonicalized (`canonicalize`), hashed and
  written to a fresh Delta store with `DeltaStore.write`. No Hamilton, no plan executor, no
  events, no background writer.

The ratio is build / direct per repeat (target <= 1.15x). build / (direct + store) is the
overhead of the orchestration itself (Hamilton driver, plan executor, a fresh DataFusion context
per node, events, manifest, minus what the background writer overlaps), separated from the cost
of the store's contract (canonical order, content hash, Delta). A last build runs under cProfile
and splits its wall time into DataFusion (SQL), canonical ordering (sort + take + store types),
content hashing, Delta writes (evidence vs outputs) and the rest (Hamilton, events, manifest).
The outputs of build and direct are checked to be the same rows (content hashes).

    .venv/bin/python -m benchmarks.bench_orchestration                 # 3 repeats
    .venv/bin/python -m benchmarks.bench_orchestration --repeats 5 --json
    .venv/bin/python -m benchmarks.bench_orchestration --no-profile

Exit status 0 whatever the numbers: this is a report, read the PASS/MISS line.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import resource
import statistics
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `cpg_core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa
from datafusion import SessionContext

from cpg_core.execute import ExecutorConfig, RunResult, build
from cpg_core.execute.codegen import MODULE_PREFIX
from cpg_core.execute.config import SERIAL
from cpg_core.execute.driver_cache import forget_drivers
from cpg_core.extract import extract_repo
from cpg_core.plan import ExecutionPlan, compile_plan
from cpg_core.plan.engine_check import READ_ONLY
from cpg_core.project import Project
from cpg_core.store.content_hash import canonicalize, content_hash
from cpg_core.store.delta_store import DeltaStore

TARGET = 1.15
GIB = 1024**3


# --------------------------------------------------------------------------- shared helpers


class Timer:
    """Wall time and this process's CPU time (all its threads: DataFusion's and Delta's Rust
    threads included). CPU time barely moves when other processes compete for the cores; wall
    time does, so both are reported."""

    wall: float = 0.0
    cpu: float = 0.0

    def __enter__(self) -> Timer:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def stats(values: Sequence[float]) -> dict[str, Any]:
    """Median, range and every value (runs are noisy on a shared 2-core machine)."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": list(values),
    }


def fmt(s: Mapping[str, Any], unit: str = "s", digits: int = 2) -> str:
    """`median [min-max]` of a `stats` dict."""
    return f"{s['median']:.{digits}f} {unit} [{s['min']:.{digits}f}-{s['max']:.{digits}f}]"


def stdlib_evidence(workers: int = 2) -> tuple[dict[str, pa.Table], float, Path]:
    """The evidence tables of the installed standard library, and the seconds it took."""
    root = Path(sysconfig.get_paths()["stdlib"])
    start = time.perf_counter()
    evidence = extract_repo(root, workers=workers)
    return evidence, time.perf_counter() - start, root


def cpg_plan(history: Mapping[str, float] | None = None) -> ExecutionPlan:
    """The built-in CPG views, compiled without the compile cache (no store is touched).
    `history` gives measured durations by fingerprint (default: none, costs are estimates)."""
    return compile_plan(
        Project.from_views([], include_cpg=True), cache=False, history=history or {}
    )


def run_direct(
    plan: ExecutionPlan, inputs: Mapping[str, pa.Table]
) -> tuple[Timer, dict[str, pa.Table]]:
    """Every admitted view in ONE SessionContext in topological order; (timing, outputs)."""
    gc.collect()
    outputs: dict[str, pa.Table] = {}
    with Timer() as timer:
        ctx = SessionContext()
        for name, table in inputs.items():
            ctx.from_arrow(table, name=name)
        for name in plan.schedule.order:
            result = ctx.sql_with_options(plan.tasks[name].view.sql, READ_ONLY).to_arrow_table()
            ctx.from_arrow(result, name=name)
            outputs[name] = result
    return timer, outputs


def run_direct_stored(
    plan: ExecutionPlan, inputs: Mapping[str, pa.Table]
) -> tuple[Timer, dict[str, pa.Table]]:
    """`run_direct`, then every evidence input and persisted output canonicalized, hashed and
    written to a fresh Delta store, one after the other in this thread; (timing, outputs)."""
    gc.collect()
    with tempfile.TemporaryDirectory(prefix="cpg-bench-") as tmp:
        store = DeltaStore(Path(tmp) / "store")
        with Timer() as timer:
            _, outputs = run_direct(plan, inputs)
            stored = {
                **{n: t for n, t in inputs.items() if n in plan.datasets},
                **{n: outputs[n] for n in plan.schedule.order if plan.tasks[n].view.persisted},
            }
            store_plainly(store, stored)
    return timer, outputs


def store_plainly(store: DeltaStore, tables: Mapping[str, pa.Table]) -> None:
    """The store's contract done by hand, one table after the other: canonical order, content
    hash, one Delta write each."""
    for name, table in tables.items():
        canonical = canonicalize(table)
        store.write(
            name,
            canonical,
            fingerprint="direct",
            data_version=canonical.data_version,
            run_id="direct",
        )


def fresh_process_state() -> None:
    """Forget cached drivers and generated plan modules, as a new process would.

    Why the modules: `codegen.load_module` reuses ``sys.modules["cpg_plan_<signature>"]``,
    whose file lives in the *first* store the plan was built into. Once that temporary store is
    deleted, Hamilton cannot read the nodes' source ("Failed to hash source code ... version
    will be None") and later builds would run with no code versions.
    """
    forget_drivers()
    for name in [m for m in sys.modules if m.startswith(MODULE_PREFIX)]:
        del sys.modules[name]
    gc.collect()


def run_build(
    plan: ExecutionPlan,
    inputs: Mapping[str, pa.Table],
    config: ExecutorConfig = SERIAL,
    *,
    profile: cProfile.Profile | None = None,
) -> tuple[Timer, RunResult]:
    """`build` into a fresh temporary store (cache cold); (timing, result)."""
    fresh_process_state()
    with tempfile.TemporaryDirectory(prefix="cpg-bench-") as tmp, Timer() as timer:
        if profile is not None:
            profile.enable()
        try:
            result = build(plan, store=Path(tmp) / "store", inputs=inputs, config=config)
        finally:
            if profile is not None:
                profile.disable()
    fresh_process_state()
    return timer, result


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB


# --------------------------------------------------------------------------- profile breakdown

# (label, match on (file, function name)) over pstats entries; the cumulative time of each.
# Python-level wrappers only (their cumulative time includes the native call), so nothing is
# counted twice; none of these calls another of them.
_PARTS: tuple[tuple[str, Callable[[str, str], bool]], ...] = (
    (
        "datafusion_sql",
        lambda f, n: n == "sql_with_options" and f.endswith("datafusion/context.py"),
    ),
    (
        "datafusion_collect",
        lambda f, n: n == "to_arrow_table" and f.endswith("datafusion/dataframe.py"),
    ),
    ("canonical_order", lambda f, n: n == "canonicalize" and f.endswith("store/content_hash.py")),
    ("content_hash", lambda f, n: n == "hash_canonical" and f.endswith("store/content_hash.py")),
    ("delta_write", lambda f, n: n == "write" and f.endswith("store/delta_store.py")),
    ("evidence_inputs", lambda f, n: n == "_table_inputs" and f.endswith("execute/build.py")),
    (
        "hamilton_code_versions",
        lambda f, n: n == "resolve_code_versions" and f.endswith("hamilton/caching/adapter.py"),
    ),
)


def breakdown(profile: cProfile.Profile, wall: float) -> dict[str, float]:
    """Seconds per part of one profiled build (see `split` for how they combine)."""
    # {(file, line, name): (cc, nc, tottime, cumtime, callers)}; `stats` is untyped in typeshed
    raw: dict[Any, Any] = cast(Any, pstats.Stats(profile)).stats
    parts = dict.fromkeys([label for label, _ in _PARTS], 0.0)
    for (file, _line, name), (_cc, _nc, _tottime, cumtime, _callers) in raw.items():
        for label, match in _PARTS:
            if match(file, name):
                parts[label] += cumtime
    parts["wall"] = wall
    return parts


def split(parts: Mapping[str, float]) -> dict[str, float]:
    """Disjoint shares of the build's wall time.

    canonicalize does not hash (the data version is computed lazily), so sort/take and hashing
    are disjoint; Delta writes are disjoint from both. Evidence (input) handling = its
    canonicalize + hash + write; the views' share of each is the total minus that. Hamilton's
    code versions (it reads and hashes every node's source at each run) are part of the rest.
    """
    sql = parts["datafusion_sql"] + parts["datafusion_collect"]
    store = parts["canonical_order"] + parts["content_hash"] + parts["delta_write"]
    return {
        "datafusion": sql,
        "canonical_order": parts["canonical_order"],
        "content_hash": parts["content_hash"],
        "delta_write": parts["delta_write"],
        "evidence_inputs": parts["evidence_inputs"],
        "hamilton_code_versions": parts["hamilton_code_versions"],
        "rest": parts["wall"] - sql - store,
        "wall": parts["wall"],
    }


# --------------------------------------------------------------------------- the benchmark


def run(repeats: int, profile: bool) -> dict[str, Any]:
    evidence, extract_s, root = stdlib_evidence(workers=2)
    plan = cpg_plan()
    views = list(plan.schedule.order)
    persisted = [v for v in views if plan.tasks[v].view.persisted]
    report: dict[str, Any] = {
        "root": str(root),
        "files": evidence["files"].num_rows,
        "evidence_rows": {n: t.num_rows for n, t in sorted(evidence.items())},
        "evidence_mb": sum(t.nbytes for t in evidence.values()) / 1e6,
        "extract_s": extract_s,
        "views": len(views),
        "persisted": len(persisted),
        "cores": os.cpu_count(),
    }
    direct: list[Timer] = []
    direct_stored: list[Timer] = []
    built: list[Timer] = []
    last: tuple[dict[str, pa.Table], RunResult] | None = None
    for i in range(repeats):
        d, outputs = run_direct(plan, evidence)
        del outputs
        s, outputs = run_direct_stored(plan, evidence)
        b, result = run_build(plan, evidence)
        direct.append(d)
        direct_stored.append(s)
        built.append(b)
        if i == repeats - 1:
            last = (outputs, result)
        del outputs, result
    assert last is not None
    outputs, result = last
    start = time.perf_counter()
    direct_versions = {v: content_hash(outputs[v]) for v in persisted}
    report["hash_direct_outputs_s"] = time.perf_counter() - start
    versions = {o.name: o.data_version for o in result.manifest.outputs}
    report["same_rows"] = direct_versions == versions
    report["output_rows"] = sum(o.rows for o in result.manifest.outputs)
    del last, outputs, result
    report["direct"] = stats([t.wall for t in direct])
    report["build"] = stats([t.wall for t in built])
    report["ratio"] = stats([b.wall / d.wall for b, d in zip(built, direct, strict=True)])
    report["direct_stored"] = stats([t.wall for t in direct_stored])
    report["ratio_stored"] = stats(
        [b.wall / s.wall for b, s in zip(built, direct_stored, strict=True)]
    )
    report["direct_stored_cpu"] = stats([t.cpu for t in direct_stored])
    report["ratio_stored_cpu"] = stats(
        [b.cpu / s.cpu for b, s in zip(built, direct_stored, strict=True)]
    )
    report["direct_cpu"] = stats([t.cpu for t in direct])
    report["build_cpu"] = stats([t.cpu for t in built])
    report["ratio_cpu"] = stats([b.cpu / d.cpu for b, d in zip(built, direct, strict=True)])
    if profile:
        profiler = cProfile.Profile()
        timer, _ = run_build(plan, evidence, profile=profiler)
        report["profile"] = split(breakdown(profiler, timer.wall))
    report["peak_rss_gib"] = peak_rss_gib()
    report["load_1min"] = os.getloadavg()[0]
    return report


def print_split(p: Mapping[str, float], what: str) -> None:
    """The cProfile split of `split`, one line per part."""
    wall = p["wall"]
    print(f"where {what}'s time goes (cProfile of the calling thread, wall {wall:.1f} s):")
    for key, label in (
        ("datafusion", "DataFusion (plan + execute)"),
        ("canonical_order", "canonical order (sort, take)"),
        ("content_hash", "content hash (sha256)"),
        ("delta_write", "Delta writes"),
        ("rest", "rest (Hamilton, events, ...)"),
    ):
        print(f"  {label:32}{p[key]:7.1f} s  {p[key] / wall:6.1%}")
    print(
        f"  of the rest, Hamilton code versions (source hashing): "
        f"{p['hamilton_code_versions']:.2f} s"
    )
    if p["evidence_inputs"] >= 0.05:
        print(
            f"  of the whole, evidence inputs (canonicalize + hash + write of the evidence): "
            f"{p['evidence_inputs']:.1f} s"
        )


def print_report(r: Mapping[str, Any]) -> None:
    print(
        f"stdlib {r['files']} files -> evidence {r['evidence_mb']:.0f} MB "
        f"(extract {r['extract_s']:.1f} s, once); {r['views']} CPG views "
        f"({r['persisted']} persisted), {r['output_rows']} output rows; {r['cores']} cores"
    )
    n = len(r["direct"]["runs"])
    print(f"{'':34}median [min-max] over {n} repeats")
    print(f"{'direct (one SessionContext)':34}{fmt(r['direct'])}")
    print(f"{'build (serial, fresh store)':34}{fmt(r['build'])}")
    verdict = "PASS" if r["ratio"]["median"] <= TARGET else "MISS"
    print(f"{'build / direct':34}{fmt(r['ratio'], 'x', 2)}  {verdict} (target <= {TARGET}x)")
    print(f"{'direct, CPU time':34}{fmt(r['direct_cpu'])}")
    print(f"{'build, CPU time':34}{fmt(r['build_cpu'])}")
    print(f"{'build / direct, CPU time':34}{fmt(r['ratio_cpu'], 'x', 2)}")
    print(f"{'direct + store (same store work)':34}{fmt(r['direct_stored'])}")
    print(f"{'direct + store, CPU time':34}{fmt(r['direct_stored_cpu'])}")
    verdict = "PASS" if r["ratio_stored"]["median"] <= TARGET else "MISS"
    print(
        f"{'build / (direct + store)':34}{fmt(r['ratio_stored'], 'x', 2)}  {verdict} "
        f"(orchestration alone, target <= {TARGET}x)"
    )
    print(f"{'  CPU time':34}{fmt(r['ratio_stored_cpu'], 'x', 2)}")
    print(f"same rows as direct: {r['same_rows']}")
    if "profile" in r:
        print_split(r["profile"], "one build")

    print(
        f"hashing the direct outputs alone: {r['hash_direct_outputs_s']:.1f} s; "
        f"peak RSS {r['peak_rss_gib']:.1f} GiB; load {r['load_1min']:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-profile", action="store_true", help="skip the profiled build")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run(args.repeats, profile=not args.no_profile)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
