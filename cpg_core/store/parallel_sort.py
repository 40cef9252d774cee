"""Sort and gather a large table on several threads: pyarrow's `sort_indices` and `take` use one.

Every view output is put into canonical order before it is hashed and stored, on the critical
path of the build (the next view waits for its input's data version), while DataFusion's
threads sit idle. pyarrow releases the GIL inside its kernels, so:

- `sort_order` cuts a large table at a pivot of its first key (the median of a sample): rows
  below it, then the others (nulls last, as in the sort). Each side is sorted on its own thread
  and the two orders are concatenated — the same stable order as one sort, since every row of the
  first side sorts before every row of the second and each side keeps its rows' relative order.
- `take_rows` gathers the columns of a large table on separate threads.

On the stdlib's `flow_round_1` (0.45 M rows) on 2 cores: sort 0.48 s → 0.25-0.30 s; on its
`cpg_edges` (4.0 M rows, 9 columns) sort 3.2 s → 2.1-2.4 s and take 2.8-3.4 s → 1.7-2.5 s,
but that table stays on one thread (`PARALLEL_BYTES`, below). Small tables go through the
single-threaded kernels.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

PARALLEL_ROWS: Final = 250_000  # below this, one thread: a thread costs more than it saves
# Above this, one thread too: each side's keys are copied out to be sorted, and buffers
# allocated on several threads stay resident longer (measured on the stdlib build, whose
# memory peaks while its largest table, cpg_edges at 0.9 GB, is sorted: 4.03 GiB on one
# thread, 4.35-4.47 GiB with its take on two).
PARALLEL_BYTES: Final = 256 * 2**20
THREADS: Final = max(1, min(4, os.cpu_count() or 1))
SAMPLE: Final = 1001


def _call(name: str, *args: Any, options: pc.FunctionOptions | None = None) -> Any:
    """`pyarrow.compute` by name: its kernels are generated at import time, invisible to pyright."""
    return pc.call_function(name, list(args), options)


def _sort_indices(table: pa.Table) -> pa.Array:
    """Stable ascending sort on every column of `table` in order, nulls last."""
    keys = [(name, "ascending", "at_end") for name in table.column_names]
    return _call("sort_indices", table, options=pc.SortOptions(sort_keys=keys))


def _pivot(column: pa.ChunkedArray) -> pa.Scalar | None:
    """The median of an evenly spaced sample of the column's non-null values."""
    n = len(column)
    positions = pa.array(sorted({i * (n - 1) // (SAMPLE - 1) for i in range(SAMPLE)}), pa.int64())
    sample = column.take(positions).drop_null()
    if len(sample) == 0:
        return None
    return sample.take(_sort_indices(pa.table({"k": sample})))[len(sample) // 2]


def sort_order(keys: pa.Table, *, min_rows: int = PARALLEL_ROWS) -> pa.Array:
    """Row indices sorting `keys` on all its columns (ascending, nulls last, stable); on two
    threads from `min_rows` rows."""
    big = (
        keys.num_rows >= max(min_rows, 2)
        and keys.num_columns > 0
        and THREADS > 1
        and keys.nbytes <= PARALLEL_BYTES
    )
    pivot = _pivot(keys.column(0)) if big else None
    if pivot is None:
        return _sort_indices(keys)
    low = pc.fill_null(_call("less", keys.column(0), pivot), False)

    def side(mask: pa.ChunkedArray) -> pa.Array:
        rows = _call("indices_nonzero", mask)
        return rows.take(_sort_indices(keys.filter(mask)))

    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(side, [low, _call("invert", low)]))
    return pa.concat_arrays(parts)


def take_rows(table: pa.Table, order: pa.Array, *, min_rows: int = PARALLEL_ROWS) -> pa.Table:
    """`table.take(order)`, the columns gathered on separate threads from `min_rows` rows."""
    serial = table.num_rows < min_rows or table.nbytes > PARALLEL_BYTES
    if serial or table.num_columns < 2 or THREADS < 2:
        return table.take(order)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        columns = list(pool.map(lambda column: column.take(order), table.columns))
    return pa.Table.from_arrays(columns, schema=table.schema)


__all__ = ["PARALLEL_ROWS", "sort_order", "take_rows"]
