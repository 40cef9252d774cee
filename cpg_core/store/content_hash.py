"""Content hashes (data versions) of Arrow tables, independent of row order and chunking.

Why: DataFusion's output order varies between runs (parallel hash joins and aggregates), and the
same rows can arrive in any chunking; a data version must change only when the *content* does.

How (the canonical-order design):

1. **Store types.** Columns are converted to the types Delta Lake stores and gives back
   (``large_string`` and ``string_view`` → ``string``, dictionaries decoded, ``uint32`` →
   ``int64``, timestamps → µs, …; see `store_types`). So the hash of a table equals the hash of
   what a store read returns.
2. **Canonical row order.** Rows are sorted by every column (a deterministic total order, not a
   meaningful one: floats sort by their bit pattern, so ``-0.0`` and ``0.0`` are distinct values and
   ties can only be identical rows). Struct fields are sort keys; list and map columns cannot be, so
   their length is a key and rows still tied after the vectorized sort are ordered by the ``repr``
   of their nested values (Python speed, but only for the tied rows).
3. **Canonical streams.** Each column is hashed as separate byte streams (null positions, values,
   lengths, children), chunk by chunk, with null slots zeroed: the digest does not depend on chunk
   boundaries, slice offsets or whatever bytes sit under a null.

The digest covers the column names, their (store) types and the row count, not nullability or field
metadata. `canonicalize` returns the sorted table as well, so a store write sorts only once and
identical content is written in identical order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from cpg_core.store.hash_streams import hash_canonical, list_type
from cpg_core.store.parallel_sort import sort_order, take_rows
from cpg_core.store.store_types import StoreTypeError, store_schema, store_type, to_store_types


def _call(name: str, *args: Any, options: pc.FunctionOptions | None = None) -> Any:
    """`pyarrow.compute` by name: its kernels are generated at import time, invisible to pyright."""
    return pc.call_function(name, list(args), options)


def _sort_indices(table: pa.Table, columns: list[str]) -> pa.Array:
    """Stable ascending sort on `columns`, nulls last."""
    keys = [(name, "ascending", "at_end") for name in columns]
    return _call("sort_indices", table, options=pc.SortOptions(sort_keys=keys))


# --------------------------------------------------------------------------- canonical order


def _chunks(column: pa.ChunkedArray) -> list[pa.Array]:
    """The chunks of `column`, at least one (an empty table may have none)."""
    return list(column.chunks) or [pa.array([], type=column.type)]


def _bits_view(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A float column reinterpreted as same-width integers: a total, bitwise order and equality."""
    target = {16: pa.int16(), 32: pa.int32(), 64: pa.int64()}[column.type.bit_width]
    return pa.chunked_array([c.view(target) for c in _chunks(column)], type=target)


def _as_list(column: pa.ChunkedArray) -> pa.ChunkedArray:
    target = list_type(column.type)
    if target == column.type:
        return column
    return pa.chunked_array([c.view(target) for c in _chunks(column)], type=target)


def _sort_keys(column: pa.ChunkedArray, keys: list[pa.ChunkedArray]) -> bool:
    """Append sort keys for `column` to `keys`; True when it holds lists (needs tie-breaking)."""
    t = column.type
    if pa.types.is_null(t):
        return False
    if pa.types.is_floating(t):
        keys.append(_bits_view(column))
        return False
    if isinstance(t, pa.StructType):
        keys.append(_call("is_valid", column))
        nested = False
        for child in column.flatten():  # parent nulls are merged into the children
            nested = _sort_keys(child, keys) or nested
        return nested
    if isinstance(t, pa.ListType | pa.MapType):
        keys.append(pc.fill_null(_call("list_value_length", _as_list(column)), -1))
        return True
    keys.append(column)
    return False


def _key_rank(t: pa.DataType) -> int:
    """Sort-key priority: flat columns in schema order, nested ones after them.

    Schema order because tables usually lead with their id: when the first key is unique the
    sort never compares another column (measured on the stdlib CPG: 2.3x less sort time than
    putting fixed-width columns first, which are often low-cardinality flags and counts)."""
    return 1 if isinstance(t, pa.StructType | pa.ListType | pa.MapType) else 0


def _adjacent_equal(sorted_keys: pa.Table) -> pa.Array:
    """For each i ≥ 1: are rows i-1 and i equal on every key (nulls equal to nulls)?"""
    n = sorted_keys.num_rows
    result: pa.Array | None = None
    for column in sorted_keys.columns:
        a = column.slice(1).combine_chunks()
        b = column.slice(0, n - 1).combine_chunks()
        same = _call(
            "or",
            pc.fill_null(_call("equal", a, b), False),
            _call("and", _call("is_null", a), _call("is_null", b)),
        )
        result = same if result is None else _call("and", result, same)
    assert result is not None
    return result


def canonical_order(table: pa.Table, *, lead: str | None = None) -> pa.Array:
    """Row indices that put `table` (already in store types) into its canonical order.

    `lead` names a column to sort by first (a partitioned table's partition column, nulls
    last): rows sharing its value are then in their own canonical order, contiguous."""
    n = table.num_rows
    if n <= 1:
        return pa.array(range(n), type=pa.uint64())
    ranked = sorted(range(table.num_columns), key=lambda i: (_key_rank(table.schema[i].type), i))
    keys: list[pa.ChunkedArray] = [] if lead is None else [table.column(lead)]
    nested_columns: list[int] = []
    for i in ranked:
        if _sort_keys(table.column(i), keys):
            nested_columns.append(i)
    if not keys:  # only null-typed columns: every row is identical
        return pa.array(range(n), type=pa.uint64())
    key_table = pa.table({f"k{i}": k for i, k in enumerate(keys)})
    order = sort_order(key_table)
    if not nested_columns:
        return order
    return _break_ties(table, take_rows(key_table, order), order, nested_columns)


def _break_ties(
    table: pa.Table, sorted_keys: pa.Table, order: pa.Array, nested_columns: list[int]
) -> pa.Array:
    """Order rows tied on every vectorized key by the repr of their list/map values."""
    equal = _adjacent_equal(sorted_keys)  # length n-1
    if not _call("any", equal).as_py():
        return order
    n = table.num_rows
    # group id per sorted position: a new group starts wherever a row differs from the previous one
    starts = pa.concat_arrays([pa.array([True]), _call("invert", equal)])
    group = _call("cumulative_sum", pc.cast(starts, pa.int64()))
    tied = _call(
        "or",
        pa.concat_arrays([pa.array([False]), equal]),
        pa.concat_arrays([equal, pa.array([False])]),
    )
    tied_positions = _call("indices_nonzero", tied)
    rows = table.select(nested_columns).take(order.take(tied_positions)).to_pylist()
    texts: list[str | None] = [None] * n
    for position, row in zip(tied_positions.to_pylist(), rows, strict=True):
        texts[position] = repr(tuple(row.values()))
    refine = pa.table({"group": group, "text": pa.array(texts, type=pa.string())})
    second = _sort_indices(refine, ["group", "text"])
    return order.take(second)


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class CanonicalTable:
    """A table in store types and canonical row order, with its content hash.

    Pass it to `DeltaStore.write` to avoid sorting twice.
    """

    table: pa.Table

    @cached_property
    def data_version(self) -> str:
        return hash_canonical(self.table)


def trusted(table: pa.Table, data_version: str) -> CanonicalTable:
    """`table` as stored-ready with a data version computed elsewhere (incremental
    extraction, a partition map, the store): neither sorted nor hashed again."""
    canonical = CanonicalTable(table)
    vars(canonical)["data_version"] = data_version  # the cached_property's slot
    return canonical


def canonicalize(table: pa.Table) -> CanonicalTable:
    """Store types, canonical row order, one chunk per column where possible."""
    if isinstance(table, CanonicalTable):
        return table
    typed = to_store_types(table)
    order = canonical_order(typed)
    return CanonicalTable(take_rows(typed, order))


def content_hash(table: pa.Table) -> str:
    """The data version of `table`'s content: same rows (any order, any chunking) → same hash."""
    return canonicalize(table).data_version


__all__ = [
    "CanonicalTable",
    "StoreTypeError",
    "canonicalize",
    "content_hash",
    "store_schema",
    "store_type",
    "to_store_types",
]
