"""Asset and check specs of a plan, and the pure functions that decide each check's outcome.

`asset_specs` lists one spec per persisted view and per input table a view reads, upstream first.
`check_specs` lists the checks; `planned_checks` says, per check, which stored tables decide it,
so a run body evaluates each check once those tables exist::

    for check in planned_checks(plan, translator):
        if all(name in finished for name in check.reads):
            outcome = evaluate_check(plan, check, store.read)
            yield check_result(translator, check, outcome)

Checks:

- `admitted` (every persisted view, blocking): the view parsed, planned, and its upstream
  columns and types are satisfied. Decided by the plan alone.
- `keys_unique` (views declaring `@keys`): no two rows share a key.
- `no_dangling_edges` (views with `@entity: edge` and `src_id`/`dst_id` columns, when a view with
  `@entity: node` exists): every endpoint is a node (of the declared kind, when both tables
  carry kinds).
- `is_empty` (check views: `@layer: check` or `@tags: check`): a check view lists violations, so
  it must have no rows.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import rustworkx as rx

from cpg_core.plan.execution_plan import ExecutionPlan, Task
from cpg_dagster.translator import CpgTranslator

ADMITTED = "admitted"
KEYS_UNIQUE = "keys_unique"
NO_DANGLING_EDGES = "no_dangling_edges"
IS_EMPTY = "is_empty"
CHECK_LAYER = "check"
CHECK_TAG = "check"
SAMPLE = 10  # rows or keys quoted in a failing check's metadata

ReadTable = Callable[[str], pa.Table]


# -- which assets, in which order --------------------------------------------------------------


def persisted_tasks(plan: ExecutionPlan) -> list[str]:
    """Every persisted view (admitted or not), upstream first.

    Admitted views come in schedule order (topological, by priority); views that were not admitted
    follow in a topological order of their own (names break ties; views on a cycle go last). No
    admitted view reads one that was not admitted, so the whole list is topological."""
    admitted = [n for n in plan.schedule.order if plan.tasks[n].view.persisted]
    rest = sorted(n for n, t in plan.tasks.items() if not t.admitted and t.view.persisted)
    graph: rx.PyDiGraph = rx.PyDiGraph()
    index = {name: graph.add_node(name) for name in rest}
    for name in rest:
        for upstream in plan.tasks[name].inputs:
            if upstream in index and upstream != name:
                graph.add_edge(index[upstream], index[name], None)
    try:
        ordered = list(rx.lexicographical_topological_sort(graph, key=lambda n: n))
    except rx.DAGHasCycle:
        ordered = rest
    return admitted + ordered


def input_tables(plan: ExecutionPlan) -> list[str]:
    """Evidence and source tables some view reads, sorted by name."""
    read = {t for task in plan.tasks.values() for t in task.inputs if t not in plan.tasks}
    return sorted(read & set(plan.datasets))


def asset_names(plan: ExecutionPlan) -> list[str]:
    """Names of every asset of the plan, upstream first: input tables, then persisted views."""
    return input_tables(plan) + persisted_tasks(plan)


def asset_specs(plan: ExecutionPlan, translator: CpgTranslator | None = None) -> list[dg.AssetSpec]:
    """One spec per input table and persisted view, in topological order."""
    translator = translator or CpgTranslator()
    return [translator.get_asset_spec(plan, name) for name in asset_names(plan)]


# -- which checks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedCheck:
    """One check of one view: its name, the stored tables that decide it, and its settings."""

    view: str
    name: str
    description: str
    blocking: bool = False
    reads: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    nodes: str | None = None  # no_dangling_edges: the node view endpoints must be in


def is_check_view(task: Task) -> bool:
    """A view that lists violations: `@layer: check` or `@tags: check`."""
    semantic = task.view.semantic
    return (semantic is not None and semantic.layer == CHECK_LAYER) or CHECK_TAG in task.view.tags


def _entity(task: Task) -> str | None:
    return task.view.semantic.entity if task.view.semantic is not None else None


def _columns(task: Task) -> set[str]:
    return set(task.output_schema.names) if task.output_schema is not None else set()


def node_views(plan: ExecutionPlan) -> list[str]:
    """Persisted views declaring `@entity: node` with a `node_id` column."""
    return sorted(
        name
        for name, task in plan.tasks.items()
        if task.view.persisted and _entity(task) == "node" and "node_id" in _columns(task)
    )


def edge_views(plan: ExecutionPlan) -> list[str]:
    """Persisted views declaring `@entity: edge` with `src_id` and `dst_id` columns."""
    return sorted(
        name
        for name, task in plan.tasks.items()
        if task.view.persisted
        and _entity(task) == "edge"
        and {"src_id", "dst_id"} <= _columns(task)
    )


def planned_checks(
    plan: ExecutionPlan, translator: CpgTranslator | None = None
) -> list[PlannedCheck]:
    """Every check of the plan's persisted views, in asset order."""
    translator = translator or CpgTranslator()
    nodes = node_views(plan)
    edges = set(edge_views(plan))
    out: list[PlannedCheck] = []
    for name in persisted_tasks(plan):
        task = plan.tasks[name]

        def blocking(check: str, name: str = name) -> bool:
            return translator.get_check_blocking(plan, name, check)

        out.append(
            PlannedCheck(
                view=name,
                name=ADMITTED,
                description="The view parsed and planned, and its inputs' columns and types "
                "satisfy it (plan validation).",
                blocking=blocking(ADMITTED),
            )
        )
        if task.view.keys:
            out.append(
                PlannedCheck(
                    view=name,
                    name=KEYS_UNIQUE,
                    description=f"No two rows share the declared key ({', '.join(task.view.keys)}).",
                    blocking=blocking(KEYS_UNIQUE),
                    reads=(name,),
                    keys=task.view.keys,
                )
            )
        if name in edges and nodes:
            node_view = nodes[0]
            out.append(
                PlannedCheck(
                    view=name,
                    name=NO_DANGLING_EDGES,
                    description=f"Every src_id and dst_id is a node_id of {node_view} "
                    "(with the declared kind when both tables carry kinds).",
                    blocking=blocking(NO_DANGLING_EDGES),
                    reads=(name, node_view),
                    nodes=node_view,
                )
            )
        if is_check_view(task):
            out.append(
                PlannedCheck(
                    view=name,
                    name=IS_EMPTY,
                    description="A check view lists violations: it must have no rows.",
                    blocking=blocking(IS_EMPTY),
                    reads=(name,),
                )
            )
    return out


def check_spec(translator: CpgTranslator, check: PlannedCheck) -> dg.AssetCheckSpec:
    """The Dagster spec of one planned check."""
    extra = [translator.asset_key_of(t) for t in check.reads if t != check.view]
    return dg.AssetCheckSpec(
        name=check.name,
        asset=translator.asset_key_of(check.view),
        description=check.description,
        blocking=check.blocking,
        additional_deps=extra or None,
    )


def check_specs(
    plan: ExecutionPlan, translator: CpgTranslator | None = None
) -> list[dg.AssetCheckSpec]:
    """Every check spec of the plan (see the module docstring for the checks)."""
    translator = translator or CpgTranslator()
    return [check_spec(translator, c) for c in planned_checks(plan, translator)]


# -- outcomes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckOutcome:
    """Whether a check passed, with plain-data metadata explaining why."""

    passed: bool
    metadata: dict[str, Any]
    description: str | None = None


def _plain(value: Any) -> Any:
    """A JSON-friendly version of a value read from Arrow."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.date | dt.datetime | dt.time | dt.timedelta | decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def _rows(table: pa.Table, limit: int = SAMPLE) -> list[dict[str, Any]]:
    return [_plain(row) for row in table.slice(0, limit).to_pylist()]


def evaluate_admitted(plan: ExecutionPlan, name: str) -> CheckOutcome:
    """Passed when the plan admitted the view; the metadata lists every problem otherwise."""
    task = plan.tasks[name]
    problems = [p.format() for p in task.problems]
    metadata: dict[str, Any] = {"problems": len(problems)}
    if problems:
        metadata["problem_list"] = problems
        metadata["codes"] = sorted({p.code.value for p in task.problems})
    if task.fingerprint:
        metadata["fingerprint"] = task.fingerprint
    text = None if task.admitted else f"{name} is not admitted: {len(problems)} problem(s)"
    return CheckOutcome(passed=task.admitted, metadata=metadata, description=text)


def evaluate_keys_unique(table: pa.Table, keys: Sequence[str]) -> CheckOutcome:
    """Passed when no key value occurs twice (null keys count as one value, like DISTINCT)."""
    keys = list(keys)
    missing = [k for k in keys if k not in table.column_names]
    if missing:
        return CheckOutcome(
            passed=False,
            metadata={"missing_key_columns": missing},
            description=f"key column(s) {missing} are not in the table",
        )
    counts = table.select(keys).group_by(keys).aggregate([([], "count_all")])
    repeated = counts.filter(pc.call_function("greater", [counts["count_all"], 1]))
    repeated = repeated.sort_by([("count_all", "descending"), *((k, "ascending") for k in keys)])
    duplicate_rows = int(pc.call_function("sum", [repeated["count_all"]]).as_py() or 0)
    metadata: dict[str, Any] = {
        "rows": table.num_rows,
        "distinct_keys": counts.num_rows,
        "duplicate_keys": repeated.num_rows,
        "duplicate_rows": duplicate_rows,
    }
    if repeated.num_rows:
        metadata["sample"] = _rows(repeated.rename_columns([*keys, "occurrences"]))
    text = None if not repeated.num_rows else f"{repeated.num_rows} key value(s) repeat"
    return CheckOutcome(passed=not repeated.num_rows, metadata=metadata, description=text)


def evaluate_no_dangling_edges(edges: pa.Table, nodes: pa.Table) -> CheckOutcome:
    """Passed when every edge endpoint is a node.

    Endpoints match on `(node_id, node_kind)` when the edges carry `src_kind`/`dst_kind` and the
    nodes `node_kind`, else on `node_id` alone. The distinct endpoints are checked first, then the
    edges holding a missing one are counted."""
    with_kinds = {"src_kind", "dst_kind"} <= set(edges.column_names) and (
        "node_kind" in nodes.column_names
    )
    keys = ["node_id", "node_kind"] if with_kinds else ["node_id"]
    ends: list[pa.Table] = []
    for end in ("src", "dst"):
        columns = [f"{end}_id", f"{end}_kind"] if with_kinds else [f"{end}_id"]
        ends.append(edges.select(columns).rename_columns(keys))
    endpoints = pa.concat_tables(ends).group_by(keys).aggregate([])
    missing = endpoints.join(
        nodes.select(keys).group_by(keys).aggregate([]), keys=keys, join_type="left anti"
    )
    metadata: dict[str, Any] = {
        "edges": edges.num_rows,
        "endpoints": endpoints.num_rows,
        "missing_nodes": missing.num_rows,
        "matched_on": keys,
    }
    if not missing.num_rows:
        return CheckOutcome(passed=True, metadata=metadata | {"dangling_edges": 0})
    dangling = 0
    samples: list[pa.Table] = []
    id_column = "edge_id" if "edge_id" in edges.column_names else None
    for end in ("src", "dst"):
        columns = [f"{end}_id", f"{end}_kind"] if with_kinds else [f"{end}_id"]
        bad = edges.join(missing.rename_columns(columns), keys=columns, join_type="left semi")
        dangling += bad.num_rows
        if id_column is not None:
            samples.append(
                bad.select([id_column, *columns])
                .rename_columns([id_column, *keys])
                .append_column("end", pa.array([end] * bad.num_rows, pa.string()))
            )
    metadata["dangling_edges"] = dangling
    metadata["missing_sample"] = _rows(missing.sort_by([(k, "ascending") for k in keys]))
    if samples:
        sample = pa.concat_tables(samples).sort_by([(id_column or "node_id", "ascending")])
        metadata["sample"] = _rows(sample)
    text = f"{dangling} edge endpoint(s) point at {missing.num_rows} missing node(s)"
    return CheckOutcome(passed=False, metadata=metadata, description=text)


def evaluate_empty(table: pa.Table) -> CheckOutcome:
    """Passed when the (check view's) table has no rows; otherwise quotes the first rows."""
    metadata: dict[str, Any] = {"rows": table.num_rows}
    if table.num_rows:
        metadata["sample"] = _rows(table)
    text = f"{table.num_rows} violation row(s)" if table.num_rows else None
    return CheckOutcome(passed=not table.num_rows, metadata=metadata, description=text)


def evaluate_check(plan: ExecutionPlan, check: PlannedCheck, read: ReadTable) -> CheckOutcome:
    """The outcome of `check`, reading the tables in `check.reads` through `read(name)`."""
    if check.name == ADMITTED:
        return evaluate_admitted(plan, check.view)
    if check.name == KEYS_UNIQUE:
        return evaluate_keys_unique(read(check.view), check.keys)
    if check.name == NO_DANGLING_EDGES:
        assert check.nodes is not None
        return evaluate_no_dangling_edges(read(check.view), read(check.nodes))
    if check.name == IS_EMPTY:
        return evaluate_empty(read(check.view))
    raise ValueError(f"unknown check {check.name!r} of view {check.view!r}")


def check_result(
    translator: CpgTranslator, check: PlannedCheck, outcome: CheckOutcome
) -> dg.AssetCheckResult:
    """The `AssetCheckResult` to yield from a multi_asset (with `asset_key=`, as it requires)."""
    return dg.AssetCheckResult(
        asset_key=translator.asset_key_of(check.view),
        check_name=check.name,
        passed=outcome.passed,
        metadata=outcome.metadata,
        severity=dg.AssetCheckSeverity.ERROR,
        description=outcome.description,
    )
