"""Run a plan's data tests against the store (what `cpg test` does, and a build after it).

Tests run in plan order; each reads its tables' data versions first (from the Delta log, no
data read), and a test whose definition and versions match its cached result is not run again.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from cpg_core.artifacts.contracts import DataTestCounts, DataTestReport, DataTestResult
from cpg_core.checks.cache import ResultCache
from cpg_core.checks.evaluate import Limits, evaluate
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
    project's), reusing cached results of unchanged tables unless `use_cache` is False."""
    root = store if store is not None else plan.project.store
    tests = select_tests(planned_tests(plan), select)
    tables = StoredTables(plan, DeltaStore(root))
    cache = ResultCache(root if use_cache else None)
    results: list[DataTestResult] = []
    for test in tests:
        result = _run_one(test, tables, cache, limits)
        results.append(result)
        if on_result is not None:
            on_result(result)
    cache.save()
    return report_of(plan.signature, results)


def _run_one(
    test: PlannedTest, tables: StoredTables, cache: ResultCache, limits: Limits | None
) -> DataTestResult:
    versions = {} if test.blocked else {n: v for n in test.reads if (v := tables.version(n))}
    cached = cache.get(test, versions)
    if cached is not None:
        return cached
    inputs: dict[str, TableInput] = {}
    if test.blocked is None:
        try:
            inputs = {name: tables.open(name) for name in test.reads}
        except EvaluationError as error:
            return evaluate(_blocked(test, str(error)), {}, versions=versions, limits=limits)
    result = evaluate(test, inputs, versions=versions, limits=limits)
    cache.put(test, versions, result)
    return result


def _blocked(test: PlannedTest, reason: str) -> PlannedTest:
    return msgspec.structs.replace(test, blocked=reason)
