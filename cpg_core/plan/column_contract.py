"""Column contracts: declared types as type families, compared with the planned output schema.

A declared type is compared by *family* — the SQL spelling `sql_types.sql_type` gives an Arrow
type — because the physical Arrow type is an engine detail: DataFusion plans `varchar` as
`string_view`, Parquet sources arrive as `string`, the store may hold `large_string`; all are
TEXT. Timestamp units are a detail too (TIMESTAMP), a time zone is not (TIMESTAMPTZ). Integer
widths, float vs double and decimal precision and scale are compared exactly (`decimal` with no
precision accepts any decimal).

Accepted spellings: SQL names as DataFusion reads them (`float`/`real` are 32-bit, `double` and
`double precision` 64-bit), Arrow names (`int64`, `float64`, `utf8`, `timestamp[us]`...), and
nested `array<T>`/`T[]`, `struct<a T, ...>`, `map<K, V>`. `int2`/`int4`/`int8`/`float4`/`float8`
are refused: PostgreSQL counts bytes where Arrow counts bits.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.types as pat
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from cpg_core.plan.sql_types import sql_type

DType = exp.DataType.Type
ANY_DECIMAL = "DECIMAL"
_AMBIGUOUS = {
    "int1": "tinyint",
    "int2": "smallint",
    "int4": "int",
    "int8": "bigint (64-bit) or tinyint (8-bit)",
    "float4": "float (32-bit)",
    "float8": "double (64-bit)",
}
_NAMES = {
    "float": "FLOAT",  # DataFusion's meaning (PostgreSQL's `float` is double precision)
    "int16": "SMALLINT",
    "int32": "INT",
    "int64": "BIGINT",
    "uint8": "UTINYINT",
    "uint16": "USMALLINT",
    "uint32": "UINT",
    "uint64": "UBIGINT",
    "float16": "FLOAT",
    "float32": "FLOAT",
    "float64": "DOUBLE",
    "utf8": "TEXT",
    "large_utf8": "TEXT",
    "large_string": "TEXT",
    "string_view": "TEXT",
    "utf8_view": "TEXT",
    "large_binary": "VARBINARY",
    "binary_view": "VARBINARY",
    "date32": "DATE",
    "date64": "DATE",
    "bool": "BOOLEAN",
}
_SCALARS: dict[DType, str] = {
    DType.BOOLEAN: "BOOLEAN",
    DType.TINYINT: "TINYINT",
    DType.SMALLINT: "SMALLINT",
    DType.INT: "INT",
    DType.BIGINT: "BIGINT",
    DType.UTINYINT: "UTINYINT",
    DType.USMALLINT: "USMALLINT",
    DType.UINT: "UINT",
    DType.UBIGINT: "UBIGINT",
    DType.FLOAT: "FLOAT",
    DType.DOUBLE: "DOUBLE",
    DType.TEXT: "TEXT",
    DType.VARCHAR: "TEXT",
    DType.CHAR: "TEXT",
    DType.NCHAR: "TEXT",
    DType.NVARCHAR: "TEXT",
    DType.VARBINARY: "VARBINARY",
    DType.BINARY: "VARBINARY",
    DType.BLOB: "VARBINARY",
    DType.DATE: "DATE",
    DType.TIMESTAMP: "TIMESTAMP",
    DType.DATETIME: "TIMESTAMP",
    DType.TIMESTAMPNTZ: "TIMESTAMP",
    DType.TIMESTAMPTZ: "TIMESTAMPTZ",
    DType.TIMESTAMPLTZ: "TIMESTAMPTZ",
    DType.TIME: "TIME",
    DType.INTERVAL: "INTERVAL",
}
_ARROW_TIMESTAMP = re.compile(r"^timestamp\[(?:s|ms|us|ns)(?P<tz>, tz=.+)?\]$")
EXAMPLES = "bigint, int, double, float, text, boolean, date, timestamp, decimal(10, 2), text[]"


class ContractTypeError(ValueError):
    """A declared type that is not a type (the message says why and what would be)."""


def declared_family(text: str) -> str:
    """The type family a declared type stands for (compare with `actual_family`)."""
    name = " ".join(text.lower().split())
    if name in _AMBIGUOUS:
        raise ContractTypeError(
            f"type {text!r} is ambiguous (PostgreSQL counts bytes, Arrow bits): "
            f"write {_AMBIGUOUS[name]}"
        )
    if name in _NAMES:
        return _NAMES[name]
    arrow_timestamp = _ARROW_TIMESTAMP.match(name)
    if arrow_timestamp is not None:
        return "TIMESTAMPTZ" if arrow_timestamp["tz"] else "TIMESTAMP"
    try:
        return sql_type(pa.type_for_alias(name))
    except (ValueError, KeyError):
        pass
    try:  # as a CAST target, so that nothing may follow the type (DataType.build ignores it)
        cast = sqlglot.parse_one(f"CAST(NULL AS {text})", read="postgres")
    except (SqlglotError, ValueError, RecursionError):
        cast = None
    to = cast.args.get("to") if isinstance(cast, exp.Cast) else None
    if not isinstance(to, exp.DataType) or to.this == DType.USERDEFINED:
        raise ContractTypeError(f"{text!r} is not a type (e.g. {EXAMPLES})")
    return _family(to, text)


def _family(dtype: exp.DataType, text: str) -> str:
    kind = dtype.this
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == DType.DECIMAL:
        params = [p.name for p in dtype.expressions]
        if len(params) > 2:
            raise ContractTypeError(f"{text!r}: a decimal takes a precision and a scale")
        if not params:
            return ANY_DECIMAL
        scale = params[1] if len(params) > 1 else "0"
        return f"DECIMAL({params[0]}, {scale})"
    if kind == DType.ARRAY and dtype.expressions:
        inner = dtype.expressions[0]
        if isinstance(inner, exp.DataType):
            return f"ARRAY<{_family(inner, text)}>"
    if kind == DType.STRUCT:
        fields = []
        for column in dtype.expressions:
            if not isinstance(column, exp.ColumnDef) or not isinstance(
                column.args.get("kind"), exp.DataType
            ):
                raise ContractTypeError(f"{text!r}: a struct field needs a name and a type")
            fields.append(f'"{column.name}" {_family(column.args["kind"], text)}')
        return f"STRUCT<{', '.join(fields)}>"
    if kind == DType.MAP and len(dtype.expressions) == 2:
        key, value = dtype.expressions
        if isinstance(key, exp.DataType) and isinstance(value, exp.DataType):
            return f"MAP<{_family(key, text)}, {_family(value, text)}>"
    raise ContractTypeError(
        f"{text!r} is not a type the engine stores ({kind.name.lower()}); e.g. {EXAMPLES}"
    )


def actual_family(dtype: pa.DataType) -> str:
    """The family of a planned Arrow type (`sql_type`, with intervals named as such)."""
    if pat.is_interval(dtype):
        return "INTERVAL"
    return sql_type(dtype)


def family_matches(declared: str, dtype: pa.DataType) -> bool:
    """Does a planned Arrow type belong to a declared family?"""
    if declared == ANY_DECIMAL:
        return pat.is_decimal(dtype)
    return declared == actual_family(dtype)
