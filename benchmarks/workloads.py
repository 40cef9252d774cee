"""The work several benchmarks share: the stdlib's evidence, the built-in CPG plan, the store's
contract done by hand, a fresh process's state, and where a profiled build's time went.

`bench_orchestration`, `bench_parallel` and `bench_e2e_synthetic` compare builds against the same
baselines; one definition of each keeps their figures comparable.
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import pyarrow as pa

from benchmarks.harness import STDLIB, timed
from cpg_core.execute.codegen import MODULE_PREFIX
from cpg_core.execute.driver_cache import forget_drivers
from cpg_core.extract import extract_repo
from cpg_core.plan import ExecutionPlan, compile_plan
from cpg_core.project import Project
from cpg_core.store.content_hash import canonicalize
from cpg_core.store.delta_store import DeltaStore


def stdlib_evidence(workers: int = 2) -> tuple[dict[str, pa.Table], float, Path]:
    """The evidence tables of the installed standard library, and the seconds it took."""
    seconds, evidence = timed(lambda: extract_repo(STDLIB, workers=workers))
    return evidence, seconds, STDLIB


def cpg_plan(history: Mapping[str, float] | None = None) -> ExecutionPlan:
    """The built-in CPG views, compiled without the compile cache (no store is touched).
    `history` gives measured durations by fingerprint (default: none, costs are estimates)."""
    return compile_plan(
        Project.from_views([], include_cpg=True), cache=False, history=history or {}
    )


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


def split_lines(p: Mapping[str, float], what: str) -> str:
    """The cProfile split of `split`, one line per part."""
    out: list[str] = []
    wall = p["wall"]
    out.append(f"where {what}'s time goes (cProfile of the calling thread, wall {wall:.1f} s):")
    for key, label in (
        ("datafusion", "DataFusion (plan + execute)"),
        ("canonical_order", "canonical order (sort, take)"),
        ("content_hash", "content hash (sha256)"),
        ("delta_write", "Delta writes"),
        ("rest", "rest (Hamilton, events, ...)"),
    ):
        out.append(f"  {label:32}{p[key]:7.1f} s  {p[key] / wall:6.1%}")
    out.append(
        f"  of the rest, Hamilton code versions (source hashing): "
        f"{p['hamilton_code_versions']:.2f} s"
    )
    if p["evidence_inputs"] >= 0.05:
        out.append(
            f"  of the whole, evidence inputs (canonicalize + hash + write of the evidence): "
            f"{p['evidence_inputs']:.1f} s"
        )
    return "\n".join(out)
