"""Evaluate one planned test against the tables it reads, in DataFusion: its failure query's rows
are counted as they stream in and the first ones kept as a sample.

A test that cannot be evaluated — a table that is missing or lacks a column it needs, a query
that needs more memory than allowed, one that runs past its time limit, any engine error — is
an `error` result naming the test and the reason; it is never reported as passed.

Time limits here are checked between result batches: that stops a streaming query (a filter)
but not one whose first batch comes only at the end (a large aggregate or sort), because
DataFusion 55 does not interrupt a running query (neither on a signal nor on a dropped stream;
measured). `cpg_core.checks.isolated` enforces a limit on any query by running tests in a
child process it kills at the limit.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
from datafusion import SessionContext

from cpg_core.artifacts.contracts import DataTestResult, TestStatus
from cpg_core.checks.dangling import dangling_edges
from cpg_core.checks.outcome import SAMPLE_ROWS, EvaluationError, Outcome, plain
from cpg_core.checks.tables import TableInput
from cpg_core.plan.data_tests import OCCURRENCES
from cpg_core.plan.engine_check import READ_ONLY
from cpg_core.plan.engine_session import RESOURCES_EXHAUSTED, session_context
from cpg_core.plan.planned_tests import PlannedTest

BATCH_ROWS = 8192  # DataFusion's batch size: a memory pool can spill batches, not whole tables


@dataclass(frozen=True)
class Limits:
    """What one test may use: wall time (seconds), DataFusion memory (bytes), sample size."""

    timeout_s: float | None = None
    memory_limit_bytes: int | None = None
    sample_rows: int = SAMPLE_ROWS


class EvaluationTimeout(Exception):
    """Raised between result batches when a test runs past its time limit."""


def evaluate(
    test: PlannedTest,
    tables: Mapping[str, TableInput],
    *,
    versions: Mapping[str, str] | None = None,
    limits: Limits | None = None,
) -> DataTestResult:
    """The result of `test` over `tables` (every table in `test.reads`, by name).

    `versions` are the tables' data versions (recorded in the result, and the cache key)."""
    limits = limits or Limits()
    started = time.perf_counter()
    try:
        if test.blocked is not None:
            raise EvaluationError(f"not evaluated: {test.blocked}")
        outcome = _outcome(test, tables, limits)
    except EvaluationError as error:
        return error_result(test, str(error), error.details, versions, started)
    except EvaluationTimeout:
        message = f"timed out after {limits.timeout_s:g} s (the query was stopped)"
        return error_result(test, message, {}, versions, started)
    except BaseException as error:  # DataFusion raises plain exceptions, or a Rust panic
        if not engine_failure(error):
            raise
        return error_result(test, _engine_message(error, limits), {}, versions, started)
    return result_of(test, outcome, versions, started)


def result_of(
    test: PlannedTest,
    outcome: Outcome,
    versions: Mapping[str, str] | None = None,
    started: float | None = None,
) -> DataTestResult:
    """The result of a test that was evaluated: passed when no row failed."""
    status = "failed" if outcome.failing_rows else "passed"
    return _result(test, status, outcome, versions, started)


def error_result(
    test: PlannedTest,
    message: str,
    details: Mapping[str, Any] | None = None,
    versions: Mapping[str, str] | None = None,
    started: float | None = None,
) -> DataTestResult:
    """The result of a test that could not be evaluated: `message` says why."""
    outcome = Outcome(0, (), dict(details or {}), message)
    return _result(test, "error", outcome, versions, started)


def _result(
    test: PlannedTest,
    status: TestStatus,
    outcome: Outcome,
    versions: Mapping[str, str] | None,
    started: float | None,
) -> DataTestResult:
    took = time.perf_counter() - started if started is not None else 0.0
    return DataTestResult(
        id=test.id,
        name=test.name,
        view=test.view,
        kind=test.kind,
        severity=test.severity,
        status=status,
        failing_rows=None if status == "error" else outcome.failing_rows,
        sample=outcome.sample,
        message=outcome.message,
        details=outcome.details,
        reads=dict(sorted((versions or {}).items())),
        definition_hash=test.definition_hash,
        duration_s=round(took, 6),
        path=test.path,
        line=test.line,
    )


def engine_failure(error: BaseException) -> bool:
    """An error of evaluating this test (never KeyboardInterrupt or SystemExit)."""
    return isinstance(error, Exception) or type(error).__name__ == "PanicException"


def _engine_message(error: BaseException, limits: Limits) -> str:
    text = " ".join(str(error).split()).removeprefix("DataFusion error: ") or type(error).__name__
    if RESOURCES_EXHAUSTED in text and limits.memory_limit_bytes is not None:
        limit = limits.memory_limit_bytes / 2**20
        return f"needs more than its memory limit of {limit:.0f} MiB even after spilling: {text}"
    return f"the query failed: {text}"


def _schema(table: TableInput) -> pa.Schema:
    return table.schema


def check_inputs(test: PlannedTest, tables: Mapping[str, TableInput]) -> None:
    """Raise `EvaluationError` unless every table `test` reads is there with its columns."""
    absent = [name for name in test.reads if name not in tables]
    if absent:
        raise EvaluationError(f"table(s) not available: {', '.join(absent)}")
    if test.columns:
        present = set(_schema(tables[test.reads[0]]).names)
        missing = [c for c in test.columns if c not in present]
        if missing:
            raise EvaluationError(
                f"the stored table {test.reads[0]!r} lacks column(s) {', '.join(missing)} "
                "(it was built from another version of the view: rebuild it)",
                {"missing_columns": missing},
            )


def _outcome(test: PlannedTest, tables: Mapping[str, TableInput], limits: Limits) -> Outcome:
    check_inputs(test, tables)
    if test.kind == "no_dangling_edges":
        assert test.nodes is not None
        edges, nodes = (_materialize(tables[n]) for n in (test.reads[0], test.nodes))
        return dangling_edges(edges, nodes, limits.sample_rows)
    assert test.sql is not None
    ctx = session_context(1, limits.memory_limit_bytes)  # one partition: a stable sample
    for name in test.reads:
        register(ctx, name, tables[name])
    count_column = _count_column(test)
    failing, summed, sample = _stream(ctx, test.sql, count_column, limits)
    if test.kind == "unique":
        return unique_outcome(failing, summed, sample, _rows(tables[test.reads[0]]))
    if test.kind == "is_empty":
        text = f"{failing} violation row(s)" if failing else None
        return Outcome(failing, sample, {"rows": failing}, text)
    if test.kind == "row_count" and sample:
        return Outcome(failing, sample, {}, f"the view has {sample[0]['row_count']} row(s)")
    return Outcome(failing, sample)


def _count_column(test: PlannedTest) -> str | None:
    if test.kind != "unique":
        return None
    return OCCURRENCES if OCCURRENCES not in test.columns else OCCURRENCES + "_"


def unique_outcome(
    duplicate_keys: int, duplicate_rows: int, sample: tuple[dict[str, Any], ...], rows: int
) -> Outcome:
    """A unique test's counts: keys that repeat are the failing rows (as in dbt)."""
    details = {
        "rows": rows,
        "distinct_keys": rows - duplicate_rows + duplicate_keys,
        "duplicate_keys": duplicate_keys,
        "duplicate_rows": duplicate_rows,
    }
    text = f"{duplicate_keys} key value(s) repeat" if duplicate_keys else None
    return Outcome(duplicate_keys, sample, details, text)


def _rows(table: TableInput) -> int:
    return table.num_rows if isinstance(table, pa.Table) else table.count_rows()


def _materialize(table: TableInput) -> pa.Table:
    return table if isinstance(table, pa.Table) else table.to_table()


def register(ctx: SessionContext, name: str, table: TableInput) -> None:
    if isinstance(table, pads.Dataset):
        ctx.register_dataset(name, table)
        return
    batches = table.to_batches(max_chunksize=BATCH_ROWS)
    if batches:
        ctx.register_record_batches(name, [batches])
    else:
        ctx.from_arrow(table, name=name)


def _stream(
    ctx: SessionContext, sql: str, count_column: str | None, limits: Limits
) -> tuple[int, int, tuple[dict[str, Any], ...]]:
    """Run `sql`: (rows, sum of `count_column` over all rows, the first rows as plain data)."""
    deadline = None if limits.timeout_s is None else time.monotonic() + limits.timeout_s
    failing = summed = 0
    sample: list[dict[str, Any]] = []
    frame = ctx.sql_with_options(sql, READ_ONLY)
    for item in frame.execute_stream():
        batch = item.to_pyarrow()
        failing += batch.num_rows
        if count_column is not None and batch.num_rows:
            summed += int(pc.call_function("sum", [batch.column(count_column)]).as_py() or 0)
        wanted = limits.sample_rows - len(sample)
        if wanted > 0 and batch.num_rows:
            sample += [plain(row) for row in batch.slice(0, wanted).to_pylist()]
        if deadline is not None and time.monotonic() > deadline:
            raise EvaluationTimeout
    return failing, summed, tuple(sample)
