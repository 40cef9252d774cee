"""Run a plan's data tests against the store (what `cpg test` does).

Tests run in plan order; each reads its tables' data versions first (from the Delta log, no
data read), and a test whose definition and versions match its cached result is not run again.
A stored view that lacks columns its plan gives it (built by another version of the view) is
reported instead of tested.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from pathlib import Path

from cpg_core.artifacts.contracts import DataTestCounts, DataTestReport, DataTestResult
from cpg_core.checks.batch import evaluate_all
from cpg_core.checks.cache import ResultCache
from cpg_core.checks.evaluate import Limits, error_result, evaluate
from cpg_core.checks.isolated import IsolatedRunner
from cpg_core.checks.outcome import EvaluationError
from cpg_core.checks.tables import StoredTables, TableInput
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.planned_tests import PlannedTest, planned_tests
from cpg_core.store.delta_store import DeltaStore


class SelectionError(ValueError):
    """A `--select` name matches no view or test (the message names it and close matches)."""


def select_tests(tests: Sequence[PlannedTest], select: Sequence[str] | None) -> list[PlannedTest]:
    """The tests a selection names: a view (all its tests), `view.test`, or a singular test."""
    if not select:
        return list(tests)
    wanted = set(select)
    chosen = [t for t in tests if {t.id, t.view, t.name if t.view is None else None} & wanted]
    known = {t.id for t in tests} | {t.view for t in tests if t.view is not None}
    unknown = sorted(wanted - known)
    if unknown:
        hints = []
        for name in unknown:
            near = difflib.get_close_matches(name, sorted(known), n=1)
            hints.append(f"{name!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
        raise SelectionError("no view or test named " + ", ".join(hints))
    return chosen


def report_of(signature: str, results: Sequence[DataTestResult]) -> DataTestReport:
    """The report of `results` with its counts."""
    failed = [r for r in results if r.status == "failed"]
    return DataTestReport(
        plan_signature=signature,
        results=tuple(results),
        counts=DataTestCounts(
            tests=len(results),
            passed=sum(1 for r in results if r.status == "passed"),
            failed=sum(1 for r in failed if r.severity == "error"),
            warned=sum(1 for r in failed if r.severity == "warn"),
            errors=sum(1 for r in results if r.status == "error"),
            cached=sum(1 for r in results if r.cached),
        ),
    )


def run_tests(
    plan: ExecutionPlan,
    *,
    store: Path | None = None,
    select: Sequence[str] | None = None,
    limits: Limits | None = None,
    use_cache: bool = True,
    on_result: Callable[[DataTestResult], None] | None = None,
) -> DataTestReport:
    """Evaluate the plan's tests (or the `select`ed ones) against `store` (default: the
    project's), reusing cached results of unchanged tables unless `use_cache` is False.

    Without a time limit the tests that remain run in this process, together (`batch`); with
    one (`limits.timeout_s`) each runs in a worker process killed at the limit (`isolated`).
    `on_result` sees every result, in plan order, once all are known."""
    root = store if store is not None else plan.project.store
    limits = limits or Limits()
    tests = select_tests(planned_tests(plan), select)
    tables = StoredTables(DeltaStore(root), plan.project.sources)
    cache = ResultCache(root if use_cache else None)
    results: dict[int, DataTestResult] = {}
    pending: list[tuple[int, PlannedTest, dict[str, str]]] = []
    inputs: dict[str, TableInput] = {}
    for index, test in enumerate(tests):
        found = _prepare(plan, test, tables, cache, inputs)
        if isinstance(found, DataTestResult):
            results[index] = found
        else:
            pending.append((index, test, found))
    if limits.timeout_s is not None:
        with IsolatedRunner(root, plan.project.sources, limits) as isolated:
            for index, test, versions in pending:
                results[index] = isolated.evaluate(test, versions)
    else:
        evaluated = evaluate_all(
            [test for _, test, _ in pending],
            inputs,
            versions={test.id: versions for _, test, versions in pending},
            limits=limits,
        )
        results.update(
            (index, result) for (index, _, _), result in zip(pending, evaluated, strict=True)
        )
    for index, test, versions in pending:
        cache.put(test, versions, results[index])
    cache.save()
    ordered = [results[i] for i in range(len(tests))]
    if on_result is not None:
        for result in ordered:
            on_result(result)
    return report_of(plan.signature, ordered)


def _prepare(
    plan: ExecutionPlan,
    test: PlannedTest,
    tables: StoredTables,
    cache: ResultCache,
    inputs: dict[str, TableInput],
) -> DataTestResult | dict[str, str]:
    """The test's result when it needs no evaluation (blocked, cached, unreadable tables),
    else the data versions to evaluate it at (its tables are added to `inputs`)."""
    if test.blocked is not None:
        return evaluate(test, {})
    versions = {n: v for n in test.reads if (v := tables.version(n))}
    cached = cache.get(test, versions)
    if cached is not None:
        return cached
    try:
        for name in test.reads:
            if name not in inputs:
                table = tables.open(name)
                _check_stored_schema(plan, name, table)
                inputs[name] = table
    except EvaluationError as error:
        return error_result(test, f"not evaluated: {error}", error.details, versions)
    return versions


def _check_stored_schema(plan: ExecutionPlan, name: str, table: TableInput) -> None:
    """A stored view must hold the columns the plan gives it (else it predates the view's SQL:
    the test would fail on the engine's schema error, or test stale data)."""
    task = plan.tasks.get(name)
    if task is None or task.output_schema is None:
        return
    present = set(table.schema.names)
    missing = [c for c in task.output_schema.names if c not in present]
    if missing:
        raise EvaluationError(
            f"the stored table {name!r} lacks column(s) {', '.join(missing)} (it was built "
            "from another version of the view: rebuild it)",
            {"missing_columns": missing},
        )
