"""Asset and check specs of a plan, and the translation of core test results into check results.

`asset_specs` lists one spec per persisted view and per input table a view reads, upstream first.
`check_specs` lists the checks: every data test of the plan (`cpg_core.plan.planned_tests`)
becomes an `AssetCheckSpec` of the view it checks, besides the plan-decided `admitted` check.
Nothing is evaluated here: a build streams each test's result (`DataTestFinish` events, from
the core evaluator, right after the tables it reads are computed) and a check-only run asks the
core to evaluate the selected tests against the store (`cpg_core.checks.run.run_tests`, the same
result cache); `check_result_of` translates either into an `AssetCheckResult`.

Checks:

- `admitted` (every persisted view the plan did NOT admit, blocking): fails with the view's
  problems (file:line:col and message). Decided by the plan alone. An admitted view has no
  such check: it could only pass, and every check costs Dagster three stored events per run
  (planned, output, evaluation), which is what a warm run through Dagster pays per check.
- every declared test (`@test`), and the implied ones: `keys_unique` (`@keys`), contract
  `not_null_<column>`; the built-in `is_empty` (check views) and `no_dangling_edges` (edge
  views, when a node view exists).
- singular tests (`tests/*.sql`): a check of the last view they read in plan order
  (`check_view`), with the other tables they read as additional dependencies.

A check is blocking when the core build stops the view's readers on its failure
(`gates_readers`: error severity, and every view it reads is that view or upstream of it);
`relationships` and singular checks name the other tables they read as `additional_deps`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import msgspec
import rustworkx as rx

from cpg_core.artifacts.contracts import DataTestResult
from cpg_core.checks.report import result_lines
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.planned_tests import (
    IS_EMPTY,
    KEYS_UNIQUE,
    NO_DANGLING_EDGES,
    PlannedTest,
    check_view,
    edge_views,
    is_check_view,
    node_views,
    planned_tests,
)
from cpg_dagster.translator import CpgTranslator

ADMITTED = "admitted"
__all__ = [
    "ADMITTED",
    "IS_EMPTY",
    "KEYS_UNIQUE",
    "NO_DANGLING_EDGES",
    "CheckOutcome",
    "PlannedCheck",
    "asset_names",
    "asset_specs",
    "check_result",
    "check_result_of",
    "check_spec",
    "check_specs",
    "edge_views",
    "evaluate_admitted",
    "input_tables",
    "is_check_view",
    "node_views",
    "outcome_of",
    "persisted_tasks",
    "planned_checks",
]


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
    """One check of one view: its name, the tables its test reads, and its settings.

    `test` is the core's planned test behind a data check (None for `admitted`, which the plan
    alone decides)."""

    view: str
    name: str
    description: str
    blocking: bool = False
    reads: tuple[str, ...] = ()
    test: PlannedTest | None = None


def _check_name(name: str) -> str:
    """A Dagster check name (letters, digits, underscores) for a test name."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def planned_checks(
    plan: ExecutionPlan, translator: CpgTranslator | None = None
) -> list[PlannedCheck]:
    """Every check of the plan's persisted views, in asset order: `admitted` of each view the
    plan did not admit, then its tests (implied, declared, contract, built-in), then the singular tests it is
    the check view of."""
    translator = translator or CpgTranslator()
    by_view: dict[str, list[PlannedTest]] = {}
    for test in planned_tests(plan):
        view = check_view(plan, test)
        if view is not None:
            by_view.setdefault(view, []).append(test)
    out: list[PlannedCheck] = []
    for name in persisted_tasks(plan):
        if not plan.tasks[name].admitted:
            out.append(
                PlannedCheck(
                    view=name,
                    name=ADMITTED,
                    description="The view parsed and planned, and its inputs' columns and types "
                    "satisfy it (plan validation).",
                    blocking=translator.get_check_blocking(plan, name, ADMITTED),
                )
            )
        taken = {ADMITTED}  # kept free either way: a check's name never depends on validity
        for test in by_view.get(name, []):
            check = _check_name(test.name)
            if check in taken:  # a singular test named like one of the view's own tests
                check = _check_name(f"{test.name}_{test.kind}")
            taken.add(check)
            out.append(
                PlannedCheck(
                    view=name,
                    name=check,
                    description=test.description,
                    blocking=translator.get_check_blocking(plan, name, check),
                    reads=test.reads,
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


# -- outcomes (translated, never evaluated here) -----------------------------------------------


@dataclass(frozen=True)
class CheckOutcome:
    """Whether a check passed, what it found (the description), and plain-data metadata."""

    passed: bool
    metadata: dict[str, Any]
    description: str | None = None
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR


def _sample_table(rows: Sequence[dict[str, Any]]) -> str:
    """Failing rows as a Markdown table (what the Checks tab renders)."""
    columns = list(dict.fromkeys(k for row in rows for k in row))

    def cell(value: Any) -> str:
        text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def outcome_of(result: DataTestResult) -> CheckOutcome:
    """A core test result as a check outcome. The description is what the test found, as
    `cpg test` prints it (the test, where it is declared, the failing row count or why it could
    not be evaluated, the first failing rows); a test that could not be evaluated fails.
    Metadata: the failing row count (a number worth plotting), the sample as a table, the
    kind-specific details as JSON (not plotted), where the test is declared."""
    metadata: dict[str, Any] = {"test": result.id, "kind": result.kind}
    if result.path is not None:
        where = f"{result.path}:{result.line}" if result.line else result.path
        metadata["declared_at"] = where
    if result.failing_rows is not None:
        metadata["failing_rows"] = result.failing_rows
    if result.sample:
        metadata["sample"] = dg.MetadataValue.md(_sample_table(result.sample))
    if result.details:
        metadata["details"] = dg.MetadataValue.json(msgspec.to_builtins(result.details))
    if result.status == "error":
        metadata["error"] = result.message or "not evaluated"
    metadata["cached"] = result.cached
    severity = (
        dg.AssetCheckSeverity.WARN if result.severity == "warn" else dg.AssetCheckSeverity.ERROR
    )
    description = None if result.status == "passed" else "\n".join(result_lines(result))
    return CheckOutcome(
        passed=result.status == "passed",
        metadata=metadata,
        description=description,
        severity=severity,
    )


def evaluate_admitted(plan: ExecutionPlan, name: str) -> CheckOutcome:
    """Passed when the plan admitted the view; otherwise the description lists every problem
    (file:line:col, code and message), one per line."""
    task = plan.tasks[name]
    problems = [p.format() for p in task.problems]
    metadata: dict[str, Any] = {}
    if problems:
        metadata["problems"] = dg.MetadataValue.md("\n".join(f"- `{p}`" for p in problems))
        metadata["codes"] = ", ".join(sorted({p.code.value for p in task.problems}))
    if task.fingerprint:
        metadata["fingerprint"] = task.fingerprint
    text = None if task.admitted else "\n".join(problems)
    return CheckOutcome(passed=task.admitted, metadata=metadata, description=text)


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


def check_result_of(
    translator: CpgTranslator, check: PlannedCheck, result: DataTestResult
) -> dg.AssetCheckResult:
    """The check result of a core test result."""
    return check_result(translator, check, outcome_of(result))
