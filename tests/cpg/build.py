"""Build the CPG of a directory: extraction, then the built-in views through the compiled plan."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from cpg_core.checks.dangling import dangling_edges
from cpg_core.execute.direct import run_plan_direct
from cpg_core.extract import extract_repo
from cpg_core.plan import compile_plan
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.hashing import hash_value
from cpg_core.project import Project


@dataclass
class CpgBuild:
    """Evidence tables, every view output, and how long each half took."""

    evidence: dict[str, pa.Table]
    outputs: dict[str, pa.Table]
    extract_seconds: float
    views_seconds: float
    view_seconds: dict[str, float] = field(default_factory=dict)


def builtin_plan() -> ExecutionPlan:
    """The plan of the built-in CPG views alone (compiled against the evidence schemas)."""
    return compile_plan(Project.from_views([], include_cpg=True), cache=False)


def extract_evidence(root: Path, workers: int = 1) -> dict[str, pa.Table]:
    """Evidence tables of every Python file under `root`."""
    return dict(extract_repo(root, workers=workers))


def build_cpg(root: Path, *, plan: ExecutionPlan | None = None, workers: int = 1) -> CpgBuild:
    """Extract `root` and run every built-in view over its evidence."""
    plan = plan or builtin_plan()
    start = time.perf_counter()
    evidence = extract_evidence(root, workers=workers)
    extracted = time.perf_counter()
    timings: dict[str, float] = {}
    outputs: dict[str, pa.Table] = {}
    tables = dict(evidence)
    for name in plan.schedule.order:
        t0 = time.perf_counter()
        result = run_plan_direct(plan, tables, only={name})
        timings[name] = time.perf_counter() - t0
        tables.update(result)
        outputs.update(result)
    done = time.perf_counter()
    return CpgBuild(evidence, outputs, extracted - start, done - extracted, timings)


def digest(build: CpgBuild) -> str:
    """One hash over the sorted rows of the persisted CPG tables."""

    def rows(table: pa.Table) -> list[list[object]]:
        return sorted([list(row.values()) for row in table.to_pylist()], key=repr)

    names = ("cpg_nodes", "cpg_edges", "cpg_props")
    return hash_value([[name, rows(build.outputs[name])] for name in names])


def graph_problems(outputs: dict[str, pa.Table]) -> list[str]:
    """What must hold of every CPG, as the build's own tests check it: ids unique (cpg_nodes'
    and cpg_edges' keys_unique), no edge dangling (cpg_edges' no_dangling_edges), every edge's
    endpoint kinds allowed (the check view check_edge_endpoint_kinds is empty)."""
    problems: list[str] = []
    for table, key in (("cpg_nodes", "node_id"), ("cpg_edges", "edge_id")):
        ids = outputs[table].column(key)
        if pc.call_function("count_distinct", [ids]).as_py() != len(ids):
            problems.append(f"{table}: repeated {key}")
    dangling = dangling_edges(outputs["cpg_edges"], outputs["cpg_nodes"])
    if dangling.failing_rows:
        problems.append(f"dangling edges: {dangling.details}")
    bad_kinds = outputs["check_edge_endpoint_kinds"]
    if bad_kinds.num_rows:
        problems.append(f"edge endpoint kinds: {bad_kinds.slice(0, 10).to_pylist()}")
    return problems
