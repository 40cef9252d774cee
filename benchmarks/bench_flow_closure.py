"""The value-flow closure as one recursive CTE vs bounded iteration of views (issue 16 asks which).

Round 0 of the analysis (docs/cpg_schema.md, "How calls are resolved") closes the static
assignment graph `flow_edges` from its seeds. Measured here on a tree's real `flow_edges` (the
stdlib's by default) two ways, each in fresh DataFusion contexts like the views of a build:
`recursive` is the CTE flow_round_0 uses; `iterated` runs the same closure as a chain of views,
one semi-naive step each (the last step's new facts joined with the edges, minus every known
fact), for as many steps as the closure needs. Both must give the same facts.

    .venv/bin/python -m benchmarks.bench_flow_closure [--root PATH] [--repeats N] [--json]

Exit status 0 whatever the numbers: this is a report.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pyarrow as pa

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `cpg_core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datafusion import SessionContext

from benchmarks.harness import (
    add_repeats,
    add_tree,
    benchmark_parser,
    emit,
    load_1min,
    stats,
    timed,
)
from cpg_core.execute.direct import run_plan_direct
from cpg_core.extract import extract_repo
from cpg_core.plan import compile_plan
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.project import Project

RECURSIVE = """
WITH RECURSIVE
edges AS (SELECT a AS src, b AS dst FROM flow_edges WHERE kind = 'edge'),
closure(node, value) AS (
    SELECT a, b FROM flow_edges WHERE kind = 'seed'
    UNION
    SELECT e.dst, c.value FROM closure AS c JOIN edges AS e ON e.src = c.node
)
SELECT node, value FROM closure
"""
SEEDS = "SELECT DISTINCT a AS node, b AS value FROM flow_edges WHERE kind = 'seed'"
STEP = """
SELECT DISTINCT n.node, n.value
FROM (
    SELECT e.b AS node, d.value FROM delta AS d
    JOIN flow_edges AS e ON e.kind = 'edge' AND e.a = d.node
) AS n
LEFT JOIN known AS k ON k.node = n.node AND k.value = n.value
WHERE k.node IS NULL
"""


def _query(sql: str, tables: dict[str, pa.Table]) -> pa.Table:
    ctx = SessionContext()
    for name, table in tables.items():
        ctx.from_arrow(table, name=name)
    return ctx.sql(sql).to_arrow_table()


def recursive(edges: pa.Table) -> tuple[int, int]:
    """(facts, steps) of the recursive CTE (its steps are not visible: reported as 0)."""
    return _query(RECURSIVE, {"flow_edges": edges}).num_rows, 0


def iterated(edges: pa.Table) -> tuple[int, int]:
    """(facts, steps) of the closure as chained semi-naive steps, one view each."""
    known = _query(SEEDS, {"flow_edges": edges})
    delta, steps = known, 0
    while delta.num_rows:
        delta = _query(STEP, {"flow_edges": edges, "delta": delta, "known": known})
        known = pa.concat_tables([known, delta.cast(known.schema)])
        steps += 1
    return known.num_rows, steps


def flow_edges(root: Path) -> pa.Table:
    """`flow_edges` of the tree: extraction, then only the views it depends on."""
    plan = compile_plan(Project.from_views([], include_cpg=True), cache=False)
    needed = _upstream(plan, "flow_edges")
    return run_plan_direct(plan, extract_repo(root, workers=2), only=needed)["flow_edges"]


def _upstream(plan: ExecutionPlan, view: str) -> set[str]:
    seen: set[str] = set()
    todo = [view]
    while todo:
        name = todo.pop()
        if name in plan.tasks and name not in seen:
            seen.add(name)
            todo.extend(plan.tasks[name].inputs)
    return seen


def run(root: Path, repeats: int) -> dict[str, Any]:
    """Alternate the two ways `repeats` times on the same edges."""
    edges = flow_edges(root)
    walls: dict[str, list[float]] = {"recursive": [], "iterated": []}
    facts: dict[str, int] = {}
    steps = 0
    for _ in range(repeats):
        for name, fn in (("recursive", recursive), ("iterated", iterated)):
            seconds, (n, k) = timed(lambda fn=fn: fn(edges))
            walls[name].append(seconds)
            facts[name] = n
            steps = max(steps, k)
    return {
        "edges": edges.num_rows,
        "facts": facts,
        "steps": steps,
        "recursive_s": stats(walls["recursive"]),
        "iterated_s": stats(walls["iterated"]),
        "load_1min": load_1min(),
    }


def render(result: dict[str, Any]) -> str:
    """Medians side by side, and whether both found the same facts."""
    rec, it = result["recursive_s"], result["iterated_s"]
    same = result["facts"]["recursive"] == result["facts"]["iterated"]
    return (
        f"flow_edges: {result['edges']} rows; closure {result['facts']['recursive']} facts"
        f" ({'same' if same else 'DIFFERENT'} both ways), {result['steps']} semi-naive steps\n"
        f"recursive CTE {rec['median']:.2f} s [{rec['min']:.2f}-{rec['max']:.2f}]; "
        f"iterated views {it['median']:.2f} s [{it['min']:.2f}-{it['max']:.2f}]; "
        f"ratio {it['median'] / rec['median']:.2f}x; load {result['load_1min']:.2f}"
    )


def main() -> int:
    """CLI: print the comparison (or JSON)."""
    parser = benchmark_parser(__doc__)
    add_tree(parser, "--root")
    add_repeats(parser, 5)
    args = parser.parse_args()
    emit(run(args.root, args.repeats), as_json=args.json, render=render)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
