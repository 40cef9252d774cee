"""Tests an in-memory table decides as passing without a query: null counts, keys in strictly
ascending order (as stored, or once sorted; NULL key parts compare as GROUP BY groups them),
membership, the row count; and, for a table a partial run made from a version the test passed
on, the new rows' keys against each other and the kept rows that could repeat them.

Why: a DataFusion query costs a millisecond or two before it reads a row, while a build's tests
run over tables the build holds in memory, where a column's null count is metadata and a
sort or a membership test over a few thousand rows takes microseconds. The common
dbt tests — not_null, unique, relationships, row_count — are decided here when they pass,
with exactly the outcome `evaluate` gives (the same details). A test that fails, or whose
column types SQL and Arrow might compare differently (floats: -0.0 and NaN; nested and
mixed types), is left to its query, which gives the failing rows and their sample.
tests/checks/test_properties.py pins that both ways agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from cpg_core.checks.outcome import Outcome
from cpg_core.checks.tables import NativeTable, TableInput
from cpg_core.plan.data_tests import row_count_holds
from cpg_core.plan.planned_tests import PlannedTest
from cpg_core.store.partitions import Replaced


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


def _call(name: str, *args: Any, **options: Any) -> Any:
    """`pyarrow.compute` by name (its kernels are generated at import, invisible to pyright)."""
    return pc.call_function(name, list(args), **options)


def passes_in_arrow(
    test: PlannedTest, tables: Mapping[str, TableInput], replaced: Replaced | None = None
) -> Outcome | None:
    """The outcome of `test` when Arrow shows it passes; None when a query must decide.
    `replaced`: the test passed on the version a partial run made its table from."""
    held = [tables.get(n) for n in test.reads]
    if test.blocked is not None or not held:
        return None
    table, target = held[0], held[-1]
    if table is None or isinstance(table, NativeTable):
        return None
    if target is None or isinstance(target, NativeTable):
        return None
    if any(c not in table.column_names for c in test.columns):
        return None  # the query reports the missing column
    if test.kind == "not_null":
        return Outcome(0) if table.column(test.columns[0]).null_count == 0 else None
    if test.kind == "row_count" and test.predicate is not None:
        return Outcome(0) if row_count_holds(test.predicate, table.num_rows) else None
    if test.kind == "unique":
        columns = [table.column(c) for c in test.columns]
        if replaced is not None:
            found = _unique_after_replace(columns, table.num_rows, replaced.kept_rows)
            if found is not None:
                return found
        return _unique(columns, table.num_rows)
    if test.kind == "relationships" and test.references in target.column_names:
        return _contained(table.column(test.columns[0]), target.column(test.references))
    return None


def _unique_passed(rows: int) -> Outcome:
    details = {"rows": rows, "distinct_keys": rows, "duplicate_keys": 0, "duplicate_rows": 0}
    return Outcome(0, (), details)


def _unique(columns: list[pa.ChunkedArray], rows: int) -> Outcome | None:
    """No key repeats (NULL key parts group together, as in the test's GROUP BY)."""
    if not all(_exact(c.type) for c in columns):
        return None
    return _unique_passed(rows) if _distinct(columns) else None


def _unique_after_replace(
    columns: list[pa.ChunkedArray], rows: int, kept_rows: int
) -> Outcome | None:
    """No key repeats in a table whose first `kept_rows` rows are rows of a table in which no
    key repeated (a partial run kept them from a version the test passed on): then it is
    enough that the new rows' keys are distinct and that none is a kept row's key.

    Costs a hash probe per kept row (does it share a new row's first key part?) and a sort of
    the new rows with the kept rows that do, instead of a sort of every row."""
    if not all(_exact(c.type) for c in columns) or not 0 <= kept_rows <= rows:
        return None
    new = [c.slice(kept_rows) for c in columns]
    values = _call("unique", new[0])
    options = pc.SetLookupOptions(value_set=values, skip_nulls=False)  # NULL matches NULL
    near = _call("is_in", columns[0].slice(0, kept_rows), options=options)
    both = [
        pa.chunked_array([*_call("filter", c.slice(0, kept_rows), near).chunks, *n.chunks], c.type)
        for c, n in zip(columns, new, strict=True)
    ]
    return _unique_passed(rows) if _distinct(both) else None


def _distinct(columns: list[pa.ChunkedArray]) -> bool:
    """Does no key repeat (in stored order when it ascends, else once sorted)?"""
    keys = _null_aware(columns)
    return _ascending_without_ties(keys) or _sorted_without_ties(keys)


def _null_aware(columns: list[pa.ChunkedArray]) -> list[pa.ChunkedArray]:
    """Key columns without NULLs that order and compare rows as GROUP BY does (NULL parts
    equal each other and nothing else): a column holding NULLs becomes its null flags and
    its values with the NULLs filled (by the column's least value)."""
    keys: list[pa.ChunkedArray] = []
    for column in columns:
        if not column.null_count:
            keys.append(column)
            continue
        keys.append(_call("is_null", column))
        least = _call("min", column)
        if least.is_valid:
            keys.append(_call("coalesce", column, least))
    return keys


def _ascending_without_ties(columns: list[pa.ChunkedArray]) -> bool:
    """Is every row's key (non-null) greater than the previous row's, column by column?

    Then no key repeats, whatever the table is; and a build's outputs are in canonical order,
    sorted by their leading columns, which are usually their keys: a comparison per row and
    key column instead of hashing every key."""
    rows = len(columns[0])
    if rows < 2:
        return True
    greater: Any = None
    equal: Any = None
    for column in columns:
        before, after = column.slice(0, rows - 1), column.slice(1)
        above = _call("greater", after, before)
        greater = above if greater is None else _call("or", greater, _call("and", equal, above))
        if column is not columns[-1]:
            same = _call("equal", after, before)
            equal = same if equal is None else _call("and", equal, same)
    return bool(_call("all", greater).as_py())


_WINDOW = 1 << 18


def _sorted_without_ties(columns: list[pa.ChunkedArray]) -> bool:
    """Does no key repeat, once the rows are put in key order?

    For a table whose keys ascend only in stretches (a partitioned output is sorted by its
    partition column first), this costs a sort of the row numbers and a window of keys at a time
    (overlapping by one row), instead of a hash of every key: the memory a distinct count takes
    over millions of keys is what it avoids."""
    keyed = pa.table({str(i): c for i, c in enumerate(columns)})
    options = pc.SortOptions([(name, "ascending") for name in keyed.column_names])
    order = _call("sort_indices", keyed, options=options)
    for start in range(0, len(order) - 1, _WINDOW):
        rows = order.slice(start, _WINDOW + 1)
        if not _ascending_without_ties([_call("take", c, rows) for c in columns]):
            return False
    return True


def _contained(child: pa.ChunkedArray, parent: pa.ChunkedArray) -> Outcome | None:
    """Every non-null value of `child` is a value of `parent`."""
    if child.type != parent.type or not _exact(child.type):
        return None
    values = _call("drop_null", child)
    if not len(values):
        return Outcome(0)
    options = pc.SetLookupOptions(value_set=_call("unique", parent))
    found = _call("is_in", values, options=options)
    return Outcome(0) if _call("all", found).as_py() else None
