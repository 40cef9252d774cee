"""Arrow types as SQL type strings, because sqlglot's MappingSchema takes type strings."""

from __future__ import annotations

from functools import lru_cache

import pyarrow as pa
import pyarrow.types as pat

_SIMPLE: dict[pa.DataType, str] = {
    pa.bool_(): "BOOLEAN",
    pa.int8(): "TINYINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INT",
    pa.int64(): "BIGINT",
    pa.uint8(): "UTINYINT",
    pa.uint16(): "USMALLINT",
    pa.uint32(): "UINT",
    pa.uint64(): "UBIGINT",
    pa.float16(): "FLOAT",
    pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE",
    pa.string(): "TEXT",
    pa.large_string(): "TEXT",
    pa.string_view(): "TEXT",
    pa.binary(): "VARBINARY",
    pa.large_binary(): "VARBINARY",
    pa.binary_view(): "VARBINARY",
    pa.date32(): "DATE",
    pa.date64(): "DATE",
    pa.null(): "NULL",
}


def sql_type(dtype: pa.DataType) -> str:
    """The SQL spelling of an Arrow type (nested types keep their field names for struct access)."""
    simple = _SIMPLE.get(dtype)
    if simple is not None:
        return simple
    if pat.is_timestamp(dtype):
        return "TIMESTAMPTZ" if getattr(dtype, "tz", None) else "TIMESTAMP"
    if pat.is_time(dtype):
        return "TIME"
    if pat.is_duration(dtype):
        return "INTERVAL"
    if pat.is_decimal(dtype):
        return f"DECIMAL({dtype.precision}, {dtype.scale})"
    if pat.is_dictionary(dtype):
        return sql_type(dtype.value_type)
    if pat.is_list(dtype) or pat.is_large_list(dtype) or pat.is_fixed_size_list(dtype):
        return f"ARRAY<{sql_type(dtype.value_type)}>"
    if pat.is_struct(dtype):
        fields = ", ".join(f'"{f.name}" {sql_type(f.type)}' for f in dtype)
        return f"STRUCT<{fields}>"
    if pat.is_map(dtype):
        return f"MAP<{sql_type(dtype.key_type)}, {sql_type(dtype.item_type)}>"
    return "TEXT"


@lru_cache(maxsize=8192)
def _columns(schema: pa.Schema) -> tuple[tuple[str, str], ...]:
    return tuple((f.name, sql_type(f.type)) for f in schema)


def mapping_schema_columns(schema: pa.Schema) -> dict[str, str]:
    """One table's column → SQL type mapping for sqlglot (memoized: many views read one table)."""
    return dict(_columns(schema))
