"""Evaluate many tests at once: the tests of one table that a count decides share one query.

A DataFusion query costs about a millisecond before it reads a row (planning, physical plan,
start-up), more than a small table's scan. So tests Arrow decides as passing over in-memory
tables (`in_arrow`: null counts, distinct counts, membership, the row count) take no query. So the row-wise tests of a table (not_null,
accepted_values, expression, is_empty), its row_count tests and its single-column unique tests
are first decided together by one aggregate query — `count(*) FILTER (WHERE <failing row>)`
per row-wise test, `count(DISTINCT c)` against `count(c)` per unique test (a key repeats when
they differ, or when two rows have no key). A test it finds passing is done: its result is the
one `evaluate` would give (the same counts and details). A failing test, and every other test
(relationships, several-column unique, singular, dangling edges), runs alone, which gives its
failing rows, sample and details; so does every test of the table when the shared query fails,
so that an error is reported on the test that causes it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from cpg_core.artifacts.contracts import DataTestResult
from cpg_core.checks.evaluate import (
    EvaluationError,
    Limits,
    check_inputs,
    engine_failure,
    evaluate,
    register,
    result_of,
)
from cpg_core.checks.in_arrow import passes_in_arrow
from cpg_core.checks.outcome import Outcome
from cpg_core.checks.tables import TableInput
from cpg_core.plan.data_tests import quote
from cpg_core.plan.engine_check import READ_ONLY
from cpg_core.plan.engine_session import session_context
from cpg_core.plan.planned_tests import PlannedTest
from cpg_core.store.partitions import Replaced

_ROW_WISE = frozenset({"not_null", "accepted_values", "expression", "is_empty"})
ROWS = "__cpg_rows"


def shares_a_count(test: PlannedTest) -> bool:
    """Can a count over the test's one table tell that it passes?"""
    if test.blocked is not None or len(test.reads) != 1:
        return False
    if test.kind in _ROW_WISE or test.kind == "row_count":
        return test.predicate is not None
    return test.kind == "unique" and len(test.columns) == 1


def count_sql(table: str, tests: Sequence[PlannedTest]) -> str:
    """One aggregate query over `table` whose columns decide each test (`__f<i>` = failures,
    `__d<i>`/`__n<i>` = distinct and non-null keys of unique test i)."""
    inner = [f"count(*) AS {ROWS}"]
    outer = [ROWS]
    for i, test in enumerate(tests):
        if test.kind == "unique":
            key = quote(test.columns[0])
            inner += [f"count(DISTINCT {key}) AS __d{i}", f"count({key}) AS __n{i}"]
            outer += [f"__d{i}", f"__n{i}"]
        elif test.kind == "row_count":
            outer.append(f"CASE WHEN {test.predicate} THEN 1 ELSE 0 END AS __f{i}")
        else:
            inner.append(f"count(*) FILTER (WHERE {test.predicate}) AS __f{i}")
            outer.append(f"__f{i}")
    return (
        f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)}, count(*) AS row_count "
        f"FROM {quote(table)}) AS counted"
    )


def _passing(tests: Sequence[PlannedTest], counts: Mapping[str, Any]) -> dict[int, Outcome]:
    """The tests the counts show passing, with the outcome `evaluate` would give them."""
    rows = int(counts[ROWS])
    found: dict[int, Outcome] = {}
    for i, test in enumerate(tests):
        if test.kind == "unique":
            distinct, keyed = int(counts[f"__d{i}"]), int(counts[f"__n{i}"])
            if distinct == keyed and rows - keyed <= 1:
                details = {"rows": rows, "distinct_keys": rows, "duplicate_keys": 0}
                found[i] = Outcome(0, (), details | {"duplicate_rows": 0})
        elif not counts[f"__f{i}"]:
            found[i] = Outcome(0, (), {"rows": 0} if test.kind == "is_empty" else {})
    return found


def _shared_counts(
    table: str, tests: Sequence[PlannedTest], data: TableInput, limits: Limits
) -> dict[str, Any] | None:
    """The shared query's one row, or None when it cannot run (each test then runs alone)."""
    try:
        for test in tests:
            check_inputs(test, {table: data})
        ctx = session_context(1, limits.memory_limit_bytes)
        register(ctx, table, data)
        return ctx.sql_with_options(count_sql(table, tests), READ_ONLY).to_pylist()[0]
    except EvaluationError:
        return None
    except BaseException as error:
        if not engine_failure(error):
            raise
        return None


def evaluate_all(
    tests: Sequence[PlannedTest],
    tables: Mapping[str, TableInput],
    *,
    versions: Mapping[str, Mapping[str, str]] | None = None,
    limits: Limits | None = None,
    replaced: Mapping[str, Replaced] | None = None,
) -> list[DataTestResult]:
    """The results of `tests`, in order, over `tables` (`versions`: per test id, the data
    versions of the tables it reads; `replaced`: per test id, how a partial run made the
    table of a test that passed on its earlier version). Equal to `evaluate` on each, but for
    the durations."""
    limits = limits or Limits()
    versions = versions or {}
    replaced = replaced or {}
    results: dict[int, DataTestResult] = {}
    shared: dict[str, list[int]] = {}
    for index, test in enumerate(tests):
        started = time.perf_counter()
        passing = passes_in_arrow(test, tables, replaced.get(test.id))
        if passing is not None:
            results[index] = result_of(test, passing, versions.get(test.id), started)
        elif shares_a_count(test) and test.reads[0] in tables:
            shared.setdefault(test.reads[0], []).append(index)
    for table, indexes in shared.items():
        if len(indexes) < 2:
            continue
        started = time.perf_counter()
        group = [tests[i] for i in indexes]
        counts = _shared_counts(table, group, tables[table], limits)
        passing = _passing(group, counts) if counts is not None else {}
        for position, outcome in passing.items():
            test = group[position]
            results[indexes[position]] = result_of(test, outcome, versions.get(test.id), started)
    return [
        results[i]
        if i in results
        else evaluate(t, tables, versions=versions.get(t.id), limits=limits)
        for i, t in enumerate(tests)
    ]
