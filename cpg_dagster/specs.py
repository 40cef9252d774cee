"""Asset and check specs of a plan, and the pure functions that decide each check's outcome.

`asset_specs` lists one spec per persisted view and per input table a view reads, upstream first.
`check_specs` lists the checks; `planned_checks` says, per check, which stored tables decide it,
so a run body evaluates each check once those tables exist (with the core evaluator,
`cpg_core.checks.evaluate`: the same one `cpg test` uses)::

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pyarrow as pa
import rustworkx as rx

from cpg_core.artifacts.contracts import DataTestResult
from cpg_core.checks.dangling import dangling_edges
from cpg_core.checks.evaluate import evaluate
from cpg_core.checks.outcome import SAMPLE_ROWS as SAMPLE
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.planned_tests import (
    BUILTIN_CHECKS,
    IS_EMPTY,
    KEYS_UNIQUE,
    NO_DANGLING_EDGES,
    PlannedTest,
    builtin_test,
    declared_test,
    edge_views,
    is_check_view,
    node_views,
    view_tests,
)
from cpg_core.views.model import DeclaredTest
from cpg_dagster.translator import CpgTranslator

ADMITTED = "admitted"
__all__ = [
    "ADMITTED",
    "IS_EMPTY",
    "KEYS_UNIQUE",
    "NO_DANGLING_EDGES",
    "SAMPLE",
    "CheckOutcome",
    "PlannedCheck",
    "asset_names",
    "asset_specs",
    "check_result",
    "check_spec",
    "check_specs",
    "edge_views",
    "evaluate_admitted",
    "evaluate_check",
    "evaluate_empty",
    "evaluate_keys_unique",
    "evaluate_no_dangling_edges",
    "input_tables",
    "is_check_view",
    "node_views",
    "persisted_tasks",
    "planned_checks",
]

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


# -- which checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedCheck:
    """One check of one view: its name, the stored tables that decide it, and its settings.

    `test` is the core's planned test behind a data check (None for `admitted`, which the plan
    alone decides)."""

    view: str
    name: str
    description: str
    blocking: bool = False
    reads: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    nodes: str | None = None  # no_dangling_edges: the node view endpoints must be in
    test: PlannedTest | None = None


def planned_checks(
    plan: ExecutionPlan, translator: CpgTranslator | None = None
) -> list[PlannedCheck]:
    """Every check of the plan's persisted views, in asset order.

    Data checks are the core's planned tests; for now the built-in ones (`keys_unique`,
    `no_dangling_edges`, `is_empty`) become Dagster checks."""
    translator = translator or CpgTranslator()
    nodes = node_views(plan)
    edges = set(edge_views(plan)) if nodes else set()
    out: list[PlannedCheck] = []
    for name in persisted_tasks(plan):
        out.append(
            PlannedCheck(
                view=name,
                name=ADMITTED,
                description="The view parsed and planned, and its inputs' columns and types "
                "satisfy it (plan validation).",
                blocking=translator.get_check_blocking(plan, name, ADMITTED),
            )
        )
        for test in view_tests(plan, name, nodes[0] if name in edges else None):
            if test.name not in BUILTIN_CHECKS:
                continue
            out.append(
                PlannedCheck(
                    view=name,
                    name=test.name,
                    description=test.description,
                    blocking=translator.get_check_blocking(plan, name, test.name),
                    reads=test.reads,
                    keys=test.columns if test.name == KEYS_UNIQUE else (),
                    nodes=test.nodes,
                    test=test,
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
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR


def outcome_of(result: DataTestResult) -> CheckOutcome:
    """A core test result as a check outcome: its counts and sample as metadata. A test that
    could not be evaluated fails, with the reason (never passes)."""
    metadata: dict[str, Any] = dict(result.details)
    if result.sample:
        metadata["sample"] = list(result.sample)
    if result.status == "error":
        metadata["error"] = result.message or "not evaluated"
    severity = (
        dg.AssetCheckSeverity.WARN if result.severity == "warn" else dg.AssetCheckSeverity.ERROR
    )
    return CheckOutcome(
        passed=result.status == "passed",
        metadata=metadata,
        description=result.message,
        severity=severity,
    )


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


_TABLE = "checked"  # the name a bare table is evaluated under


def evaluate_keys_unique(table: pa.Table, keys: Sequence[str]) -> CheckOutcome:
    """Passed when no key value occurs twice (null keys count as one value, like DISTINCT)."""
    keys = tuple(keys)
    missing = [k for k in keys if k not in table.column_names]
    if missing:
        return CheckOutcome(
            passed=False,
            metadata={"missing_key_columns": missing},
            description=f"key column(s) {missing} are not in the table",
        )
    test = declared_test(_TABLE, DeclaredTest(name=KEYS_UNIQUE, kind="unique", columns=keys))
    return outcome_of(evaluate(test, {_TABLE: table}))


def evaluate_no_dangling_edges(edges: pa.Table, nodes: pa.Table) -> CheckOutcome:
    """Passed when every edge endpoint is a node (see `cpg_core.checks.dangling`)."""
    found = dangling_edges(edges, nodes)
    metadata: dict[str, Any] = dict(found.details)
    if found.sample:
        metadata["sample"] = list(found.sample)
    return CheckOutcome(not found.failing_rows, metadata, found.message)


def evaluate_empty(table: pa.Table) -> CheckOutcome:
    """Passed when the (check view's) table has no rows; otherwise quotes the first rows."""
    return outcome_of(evaluate(builtin_test(_TABLE, "is_empty"), {_TABLE: table}))


def evaluate_check(plan: ExecutionPlan, check: PlannedCheck, read: ReadTable) -> CheckOutcome:
    """The outcome of `check`, reading the tables in `check.reads` through `read(name)`."""
    if check.name == ADMITTED:
        return evaluate_admitted(plan, check.view)
    if check.test is None:
        raise ValueError(f"unknown check {check.name!r} of view {check.view!r}")
    if check.name == KEYS_UNIQUE:  # the check's own metadata when a key column is missing
        return evaluate_keys_unique(read(check.view), check.keys)
    tables = {name: read(name) for name in check.test.reads}
    return outcome_of(evaluate(check.test, tables))


def check_result(
    translator: CpgTranslator, check: PlannedCheck, outcome: CheckOutcome
) -> dg.AssetCheckResult:
    """The `AssetCheckResult` to yield from a multi_asset (with `asset_key=`, as it requires)."""
    return dg.AssetCheckResult(
        asset_key=translator.asset_key_of(check.view),
        check_name=check.name,
        passed=outcome.passed,
        metadata=outcome.metadata,
        severity=outcome.severity,
        description=outcome.description,
    )
