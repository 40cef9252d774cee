"""A partition-incremental view's whole run, in slices of partitions when its drivers are big.

Why: a view's output is held twice while it is put in partition order (the query's rows and
their sorted copy). On the stdlib CPG that is `cpg_edges`, ~1 GB each, at the build's memory
peak. The compiler proved each output partition reads only the same partition of the drivers,
so the view can run once per slice of partitions — the drivers filtered to the slice, as a
partial run filters them — and the sorted slices, contiguous in partition order, concatenate
into the table one run would give, with the same partition map: only a slice is held twice.

A slice still checks that its rows stay in its partitions (`execute.partial`'s net under the
proof). Drivers must be in memory (a lazy source keeps its pushdown in one run) and agree on
their partition column's type; otherwise the view runs once.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from typing import Final

import pyarrow as pa

from cpg_core.execute.sources import InputTable, SourceTable, as_table
from cpg_core.execute.stored_table import StoredTable
from cpg_core.execute.task_spec import ViewTask
from cpg_core.store.partitions import PartitionMap, key_text, partition, rows_in

SLICE_ROWS: Final = 1_000_000  # driver rows per slice of a whole run (more: fewer, bigger slices)
MAX_SLICES: Final = 8  # each slice re-reads the view's lookups and starts its own query


def drivers_in(
    task: ViewTask, tables: Mapping[str, InputTable], keys: frozenset[str]
) -> dict[str, InputTable]:
    """The view's inputs with each driver filtered to the partitions `keys` (a partial run's
    or a slice's); the lookups as given."""
    out = dict(tables)
    for table, column in task.drivers:
        if table in out:
            out[table] = rows_in(as_table(out[table]), column, keys)
    return out


def slice_keys(task: ViewTask, tables: Mapping[str, InputTable]) -> list[frozenset[str]]:
    """The partitions of each slice (their JSON texts), in partition order; [] for one run."""
    if task.partial is not None or not task.drivers:
        return []
    columns: list[pa.ChunkedArray] = []
    for table, column in task.drivers:
        value = tables.get(table)
        if value is None or isinstance(value, SourceTable | StoredTable):
            return []  # a lazy input keeps its pushdown in one run
        columns.append(value.column(column))
    rows = sum(len(c) for c in columns)
    if rows <= SLICE_ROWS or any(c.type != columns[0].type for c in columns):
        return []
    counts = _row_counts(columns)
    return _cut(counts, min(MAX_SLICES, math.ceil(rows / SLICE_ROWS)))


def _row_counts(columns: list[pa.ChunkedArray]) -> pa.Table:
    """Each partition value of the drivers with its rows across them, in partition order
    (nulls last, as `partition` sorts)."""
    values = pa.chunked_array([c for column in columns for c in column.chunks], columns[0].type)
    counts = pa.table({"value": values}).group_by("value").aggregate([([], "count_all")])
    return counts.sort_by([("value", "ascending", "at_end")])


def _cut(counts: pa.Table, slices: int) -> list[frozenset[str]]:
    """Contiguous runs of partitions holding about the same number of rows each."""
    values = counts.column("value").to_pylist()
    running = list(itertools.accumulate(counts.column("count_all").to_pylist()))
    total = running[-1] if running else 0
    out: list[frozenset[str]] = []
    start = 0
    for i, upto in enumerate(running):
        if upto * slices >= total * (len(out) + 1) or i == len(values) - 1:
            out.append(frozenset(key_text(v) for v in values[start : i + 1]))
            start = i + 1
    return [keys for keys in out if keys]


def run_in_slices(
    task: ViewTask,
    tables: Mapping[str, InputTable],
    slices: list[frozenset[str]],
    run: Callable[[dict[str, InputTable]], pa.Table],
    check: Callable[[frozenset[str], set[str]], None],
) -> tuple[pa.Table, PartitionMap] | None:
    """The view's whole output in partition order and its map, one query per slice; None when
    the slices disagree on the output schema or order (then the caller runs it once)."""
    column = task.partition_by
    assert column is not None
    parts: list[pa.Table] = []
    maps: list[PartitionMap] = []
    for keys in slices:
        inputs = drivers_in(task, tables, keys)
        ordered, pmap = partition(run(inputs), column)
        del inputs
        check(keys, set(pmap.hashes))
        parts.append(ordered)
        maps.append(pmap)
    if any(
        p.schema != parts[0].schema or m.schema != maps[0].schema
        for p, m in zip(parts, maps, strict=True)
    ):
        return None
    if not _in_order([p.column(column) for p in parts if p.num_rows]):
        return None
    hashes = {k: v for m in maps for k, v in m.hashes.items()}
    return pa.concat_tables(parts), PartitionMap(
        column=column, schema=maps[0].schema, hashes=hashes
    )


def _in_order(columns: list[pa.ChunkedArray]) -> bool:
    """Does each slice's last partition value sort before the next slice's first (nulls last)?"""
    for before, after in itertools.pairwise(columns):
        last, first = before[len(before) - 1].as_py(), after[0].as_py()
        if last is None or (first is not None and not last < first):
            return False
    return True


__all__ = ["MAX_SLICES", "SLICE_ROWS", "drivers_in", "run_in_slices", "slice_keys"]
