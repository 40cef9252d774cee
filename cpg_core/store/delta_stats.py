"""Columns whose Delta statistics readers could not parse, kept out of the statistics.

Why: Delta writes each file's min/max per column into the log as text. A date or timestamp
outside years 1-9999 (`to_date(19266320)` is in year 54719) is written as `+54719-05-25`,
which deltalake's Arrow reader cannot parse — the table becomes unreadable, and so does every
query that opens it (`cpg query` opens every table of the store). Such columns (and a struct
holding one) are left out of the statistics with the table property
`delta.dataSkippingStatsColumns`; the rows themselves are stored unchanged.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

STATS_COLUMNS: Final = "delta.dataSkippingStatsColumns"
# 0001-01-01 and 9999-12-31 as days and microseconds since 1970-01-01
_DAYS: Final = (-719_162, 2_932_896)
_MICROS: Final = (-62_135_596_800_000_000, 253_402_300_799_999_999)


def _out_of_range(column: pa.ChunkedArray | pa.Array) -> bool:
    t = column.type
    if isinstance(t, pa.StructType):
        arrays = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        return any(_out_of_range(child) for array in arrays for child in array.flatten())
    if pat.is_date32(t):
        low, high = _DAYS
    elif isinstance(t, pa.TimestampType) and t.unit == "us":
        low, high = _MICROS
    else:
        return False
    if len(column) == column.null_count:
        return False
    extremes = pc.call_function("min_max", [column])
    smallest, largest = extremes["min"].value, extremes["max"].value  # days / microseconds
    return smallest < low or largest > high


def stats_columns(table: pa.Table) -> str | None:
    """The `delta.dataSkippingStatsColumns` value that keeps unparsable columns out of the
    statistics, or None when every column can have statistics."""
    unsafe = {
        name
        for name, column in zip(table.column_names, table.columns, strict=True)
        if _out_of_range(column)
    }
    if not unsafe:
        return None
    kept = [name for name in table.column_names if name not in unsafe]
    return ",".join("`" + name.replace("`", "``") + "`" for name in kept)
