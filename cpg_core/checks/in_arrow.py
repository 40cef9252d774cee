"""Tests an in-memory table decides as passing without a query: null counts, distinct counts,
membership, the row count.

Why: a DataFusion query costs a millisecond or two before it reads a row, while a build's tests
run over tables the build holds in memory, where a column's null count is metadata and a
distinct count or a membership test over a few thousand rows takes microseconds. The common
dbt tests — not_null, unique, relationships, row_count — are decided here when they pass,
with exactly the outcome `evaluate` gives (the same details). A test that fails, or whose
column types SQL and Arrow might compare differently (floats: -0.0 and NaN; nested and
mixed types), is left to its query, which gives the failing rows and their sample.
tests/checks/test_properties.py pins that both ways agree.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from cpg_core.checks.outcome import Outcome
from cpg_core.checks.tables import TableInput
from cpg_core.plan.data_tests import row_count_holds
from cpg_core.plan.planned_tests import PlannedTest


def _exact(kind: pa.DataType) -> bool:
    """Types whose equality is the same in SQL and in Arrow's hash kernels."""
    return (
        pat.is_integer(kind)
        or pat.is_string(kind)
        or pat.is_large_string(kind)
        or pat.is_boolean(kind)
        or pat.is_date(kind)
        or pat.is_timestamp(kind)
    )


def passes_in_arrow(test: PlannedTest, tables: Mapping[str, TableInput]) -> Outcome | None:
    """The outcome of `test` when Arrow shows it passes; None when a query must decide."""
    if test.blocked is not None or not all(isinstance(tables.get(n), pa.Table) for n in test.reads):
        return None
    table = tables[test.reads[0]]
    assert isinstance(table, pa.Table)
    if any(c not in table.column_names for c in test.columns):
        return None  # the query reports the missing column
    if test.kind == "not_null":
        return Outcome(0) if table.column(test.columns[0]).null_count == 0 else None
    if test.kind == "row_count" and test.predicate is not None:
        return Outcome(0) if row_count_holds(test.predicate, table.num_rows) else None
    if test.kind == "unique" and len(test.columns) == 1:
        return _unique(table.column(test.columns[0]), table.num_rows)
    if test.kind == "relationships" and test.references is not None:
        target = tables[test.reads[-1]]
        assert isinstance(target, pa.Table)
        if test.references not in target.column_names:
            return None
        return _contained(table.column(test.columns[0]), target.column(test.references))
    return None


def _unique(column: pa.ChunkedArray, rows: int) -> Outcome | None:
    """No key value repeats (and at most one row has no key: NULL keys group together)."""
    if not _exact(column.type):
        return None
    distinct = pc.count_distinct(column, mode="only_valid").as_py()
    if distinct != rows - column.null_count or column.null_count > 1:
        return None
    return Outcome(
        0, (), {"rows": rows, "distinct_keys": rows, "duplicate_keys": 0, "duplicate_rows": 0}
    )


def _contained(child: pa.ChunkedArray, parent: pa.ChunkedArray) -> Outcome | None:
    """Every non-null value of `child` is a value of `parent`."""
    if child.type != parent.type or not _exact(child.type):
        return None
    values = pc.drop_null(child)
    if not len(values):
        return Outcome(0)
    found = pc.is_in(values, value_set=pc.unique(parent))
    return Outcome(0) if pc.all(found).as_py() else None
