"""Row lists -> Arrow tables with the exact evidence schemas, and deterministic merging.

Rows are tuples in schema column order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from cpg_core.extract.model import ScanProblem
from cpg_core.extract.schema import EVIDENCE_SCHEMAS, PARTITION_COLUMN, TABLE_NAMES
from cpg_core.store.partitions import PartitionMap, partition

_STRUCTS = {name: pa.struct(list(schema)) for name, schema in EVIDENCE_SCHEMAS.items()}


def rows_to_table(name: str, rows: Sequence[tuple[Any, ...]]) -> pa.Table:
    """One evidence table from its rows (tuples in schema order).

    Converting the tuples as one struct array lets Arrow transpose in C: about a third cheaper than
    ``zip(*rows)`` plus one ``pa.array`` per column.
    """
    schema = EVIDENCE_SCHEMAS[name]
    if not rows:
        return schema.empty_table()
    structs = pa.array(rows, type=_STRUCTS[name])
    return pa.Table.from_batches([pa.RecordBatch.from_struct_array(structs)], schema=schema)


def evidence_to_tables(rows: Mapping[str, Sequence[tuple[Any, ...]]]) -> dict[str, pa.Table]:
    """Every evidence table, empty ones included."""
    return {name: rows_to_table(name, rows.get(name, ())) for name in TABLE_NAMES}


def by_file(
    tables: Mapping[str, pa.Table],
) -> tuple[dict[str, pa.Table], dict[str, PartitionMap]]:
    """Each table sorted by file (`path`, then canonically), and its partition map."""
    pairs = {name: partition(table, PARTITION_COLUMN) for name, table in tables.items()}
    return {n: p[0] for n, p in pairs.items()}, {n: p[1] for n, p in pairs.items()}


def merge_evidence(batches: Iterable[Mapping[str, pa.Table]]) -> dict[str, pa.Table]:
    """Concatenate batches into one table per evidence table, rows in path order.

    The result does not depend on the order batches arrive in: batches are ordered by their first
    file path, and if their path ranges overlap (batches that are not contiguous path ranges) every
    table is stably re-sorted by path, keeping each file's rows in extraction order.
    """
    keyed: list[tuple[str, str, int, Mapping[str, pa.Table]]] = []
    for i, batch in enumerate(batches):
        paths = batch["files"].column("path")
        if len(paths) == 0:
            if any(batch[name].num_rows for name in TABLE_NAMES):
                raise ValueError("an evidence batch has rows but no files rows")
            continue
        first = min(paths.to_pylist())
        last = max(paths.to_pylist())
        keyed.append((first, last, i, batch))
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    contiguous = all(a[1] < b[0] for a, b in itertools.pairwise(keyed))
    merged: dict[str, pa.Table] = {}
    for name in TABLE_NAMES:
        schema = EVIDENCE_SCHEMAS[name]
        parts = [k[3][name] for k in keyed]
        for part in parts:
            if not part.schema.equals(schema):
                raise ValueError(f"evidence table {name!r} does not have the evidence schema")
        table = pa.concat_tables(parts) if parts else schema.empty_table()
        if not contiguous and table.num_rows:
            keys = pa.table({"path": table.column("path"), "i": pa.array(range(table.num_rows))})
            order = keys.sort_by([("path", "ascending"), ("i", "ascending")]).column("i")
            table = table.take(order)
        merged[name] = table
    return merged


SCAN_STAGE = "scan"


def scan_problem_rows(problems: Iterable[ScanProblem]) -> list[tuple[Any, ...]]:
    """``extract_errors`` rows for directories the scan could not list."""
    return [(p.path, SCAN_STAGE, p.error_type, p.message, None) for p in problems]


def with_scan_problems(
    tables: dict[str, pa.Table], problems: Sequence[ScanProblem]
) -> dict[str, pa.Table]:
    """``tables`` with a scan problem row per unlistable directory in ``extract_errors``.

    Rows stay in path order (a directory's row before the rows of files below it).
    """
    if not problems:
        return tables
    errors = pa.concat_tables(
        [tables["extract_errors"], rows_to_table("extract_errors", scan_problem_rows(problems))]
    )
    keys = pa.table({"path": errors.column("path"), "i": pa.array(range(errors.num_rows))})
    order = keys.sort_by([("path", "ascending"), ("i", "ascending")]).column("i")
    return {**tables, "extract_errors": errors.take(order)}
