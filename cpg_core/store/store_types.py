"""What the store holds: every Arrow type a view can produce has one Delta Lake type, or none.

Why one module: the compiler checks a view's output schema with `store_schema` — the function
the store converts the view's rows with — so the schema a plan promises is the schema readers
get back, and a type the store cannot hold is a compile problem, never a failed build.

The conversions (docs/store.md, "Store types"), all lossless except the last timestamp digits:
- unsigned integers widen to the next signed type; uint64 → int64 (a value ≥ 2⁶³ fails the
  write: sources' uint64 columns are read as decimal(20, 0), so only a computed one can);
- float16 → float32; large/view strings and binaries → string/binary; date64 → date32;
  dictionaries are decoded; large, fixed-size and view lists → list; nested types recursively;
- timestamp (any unit, any zone) → timestamp[us] (a zone → UTC): digits below a microsecond
  are truncated, as Delta Lake's own writer does;
- duration → int64 and time32/time64 → int32/int64 in their own unit (since midnight for a
  time), month_day_nano interval → struct<months, days, nanoseconds>; the original type is kept
  in the field's metadata under `cpg.arrow_type`;
- decimal256 of at most 38 digits → decimal128; a negative scale s → decimal(p - s, 0).
Anything else (more than 38 decimal digits, unions, ...) raises `StoreTypeError` with a hint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import pyarrow as pa
import pyarrow.types as pat

META_ARROW_TYPE: Final = "cpg.arrow_type"
INTERVAL_STRUCT: Final = pa.struct(
    [("months", pa.int32()), ("days", pa.int32()), ("nanoseconds", pa.int64())]
)
MAX_DECIMAL_DIGITS: Final = 38


class StoreTypeError(TypeError):
    """A column type that Delta Lake cannot store (or a value it cannot store without loss).

    `hint` says how to change the query so it can."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def _decimal(t: pa.Decimal128Type | pa.Decimal256Type) -> pa.DataType:
    precision, scale = t.precision, t.scale
    if scale < 0:  # Delta has no negative scales: the same values with scale 0
        precision, scale = precision - scale, 0
    if precision > MAX_DECIMAL_DIGITS:
        raise StoreTypeError(
            f"type {t} holds {precision} digits; Delta Lake decimals hold at most "
            f"{MAX_DECIMAL_DIGITS}",
            hint=f"cast it to DECIMAL({MAX_DECIMAL_DIGITS}, {min(scale, MAX_DECIMAL_DIGITS)}) "
            "or to TEXT",
        )
    return pa.decimal128(precision, scale)


def _tagged(t: pa.DataType) -> pa.DataType | None:
    """The stored type of a type whose original is kept in field metadata, else None."""
    if pat.is_duration(t) or pat.is_time64(t):
        return pa.int64()
    if pat.is_time32(t):
        return pa.int32()
    if t == pa.month_day_nano_interval():
        return INTERVAL_STRUCT
    return None


_SAME: Final[tuple[Callable[[pa.DataType], bool], ...]] = (
    pat.is_boolean,
    pat.is_null,
    pat.is_signed_integer,
    pat.is_float32,
    pat.is_float64,
    pat.is_date32,
)
_WIDER: Final = {8: pa.int16(), 16: pa.int32(), 32: pa.int64(), 64: pa.int64()}


def store_type(t: pa.DataType) -> pa.DataType:
    """The type Delta Lake stores for `t` (raises `StoreTypeError` when there is none)."""
    if any(test(t) for test in _SAME):
        return t
    if pat.is_dictionary(t):
        return store_type(t.value_type)
    tagged = _tagged(t)
    if tagged is not None:
        return tagged
    if pat.is_float16(t):
        return pa.float32()
    if pat.is_unsigned_integer(t):
        return _WIDER[t.bit_width]
    if pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t):
        return pa.string()
    if pat.is_binary(t) or pat.is_large_binary(t) or pat.is_binary_view(t):
        return pa.binary()
    if pat.is_fixed_size_binary(t):
        return pa.binary()
    if pat.is_date64(t):
        return pa.date32()
    if isinstance(t, pa.TimestampType):
        return pa.timestamp("us", tz="UTC" if t.tz is not None else None)
    if isinstance(t, pa.Decimal128Type | pa.Decimal256Type):
        return _decimal(t)
    if isinstance(t, pa.MapType):
        return pa.map_(store_type(t.key_type), store_type(t.item_type))
    if isinstance(
        t,
        pa.ListType
        | pa.LargeListType
        | pa.FixedSizeListType
        | pa.ListViewType
        | pa.LargeListViewType,
    ):
        return pa.list_(store_field(t.value_field).with_name("element"))
    if isinstance(t, pa.StructType):
        return pa.struct([store_field(f) for f in t.fields])
    raise StoreTypeError(
        f"type {t} cannot be stored in Delta Lake",
        hint="cast it to a plain type (TEXT, BIGINT, DOUBLE, ...) or select its parts",
    )


def store_field(f: pa.Field) -> pa.Field:
    """`f` with its store type; a converted time, duration or interval names its original type
    in the metadata."""
    stored = store_type(f.type)
    metadata = dict(f.metadata or {})
    if _tagged(f.type) is not None:
        metadata[META_ARROW_TYPE.encode()] = str(f.type).encode()
    return pa.field(f.name, stored, f.nullable, metadata or None)


def store_schema(schema: pa.Schema) -> pa.Schema:
    """`schema` with every field's type replaced by its `store_type` (names, nullability kept)."""
    fields: list[pa.Field] = []
    for f in schema:
        try:
            fields.append(store_field(f))
        except StoreTypeError as exc:
            raise StoreTypeError(f"column {f.name!r}: {exc}", exc.hint) from None
    return pa.schema(fields, metadata=schema.metadata)


def to_store_types(table: pa.Table) -> pa.Table:
    """`table` converted to its store schema (see the module docstring for what changes)."""
    target = store_schema(table.schema)
    if target.equals(table.schema):
        return table
    columns = []
    for column, field in zip(table.columns, target, strict=True):
        try:
            chunks = [convert(chunk, field.type) for chunk in column.chunks]
        except StoreTypeError as exc:
            raise StoreTypeError(f"column {field.name!r}: {exc}", exc.hint) from None
        columns.append(pa.chunked_array(chunks, type=field.type))
    return pa.Table.from_arrays(columns, schema=target)


def convert(arr: pa.Array, target: pa.DataType) -> pa.Array:
    """One array converted to `target` (its `store_type`); recursive for nested types."""
    t = arr.type
    if t.equals(target):
        return arr
    if pat.is_dictionary(t):
        return convert(arr.dictionary_decode(), target)
    if t == pa.month_day_nano_interval():
        return _interval_struct(arr)
    if pat.is_duration(t) or pat.is_time(t):
        return arr.view(target)  # the same integers, in the type's own unit
    if isinstance(t, pa.StructType) and isinstance(target, pa.StructType):
        children = [convert(child, target.field(i).type) for i, child in enumerate(arr.flatten())]
        return pa.StructArray.from_arrays(children, fields=list(target), mask=_nulls(arr))
    if isinstance(target, pa.MapType):
        return _map(arr, target)
    if isinstance(target, pa.ListType):
        return _list(arr, target)
    if isinstance(t, pa.TimestampType):
        return arr.cast(target, safe=False)  # truncates below a microsecond, like Delta Lake
    try:
        return arr.cast(target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise StoreTypeError(
            f"cannot convert {t} to {target} without loss: {exc}",
            hint="cast it to DECIMAL(20, 0)" if pat.is_uint64(t) else None,
        ) from exc


def _nulls(arr: pa.Array) -> pa.Array | None:
    return arr.is_null() if arr.null_count else None


def _list(arr: pa.Array, target: pa.ListType) -> pa.Array:
    t = arr.type
    if isinstance(t, pa.ListViewType | pa.LargeListViewType):
        arr = arr.cast(pa.large_list(t.value_field))
        t = arr.type
    if isinstance(t, pa.FixedSizeListType):
        values = arr.flatten()
        offsets = pa.array(range(0, (len(arr) + 1) * t.list_size, t.list_size), pa.int32())
    else:
        assert isinstance(arr, pa.ListArray | pa.LargeListArray)
        values = arr.values
        offsets = arr.offsets.cast(pa.int32())
    values = convert(values, target.value_type)
    return pa.ListArray.from_arrays(offsets, values, type=target, mask=_nulls(arr))


def _map(arr: pa.Array, target: pa.MapType) -> pa.Array:
    assert isinstance(arr, pa.MapArray)
    keys = convert(arr.keys, target.key_type)
    items = convert(arr.items, target.item_type)
    return pa.MapArray.from_arrays(arr.offsets, keys, items, type=target, mask=_nulls(arr))


def _interval_struct(arr: pa.Array) -> pa.Array:
    """A month_day_nano interval as struct<months, days, nanoseconds> (the same numbers)."""
    values = arr.to_pylist()
    parts = [[None if v is None else v[i] for v in values] for i in range(3)]
    children = [pa.array(p, f.type) for p, f in zip(parts, INTERVAL_STRUCT, strict=True)]
    return pa.StructArray.from_arrays(children, fields=list(INTERVAL_STRUCT), mask=_nulls(arr))


def source_type(t: pa.DataType) -> pa.DataType:
    """The type a source column is read as: its own, except where the store would lose values.

    A uint64 becomes decimal(20, 0) (every value fits; int64 would overflow above 2⁶³ - 1), a
    decimal256 of at most 38 digits decimal128. Anything else stays as the file has it: a view
    may compute on any type DataFusion reads, and `store_schema` checks what it outputs."""
    if pat.is_uint64(t):
        return pa.decimal128(20, 0)
    if isinstance(t, pa.Decimal256Type) and t.precision <= MAX_DECIMAL_DIGITS:
        return pa.decimal128(t.precision, t.scale)
    return t


def source_schema(schema: pa.Schema) -> pa.Schema:
    """A source's schema as views see it (`source_type` per column)."""
    return pa.schema([f.with_type(source_type(f.type)) for f in schema], metadata=schema.metadata)


def to_source_types(table: pa.Table) -> pa.Table:
    """A source's rows in `source_schema` (lossless casts, column by column)."""
    target = source_schema(table.schema)
    return table if target.equals(table.schema) else table.cast(target)


def as_compiled(table: pa.Table, schema: pa.Schema | None) -> pa.Table:
    """A source's rows as views were compiled against them: `to_source_types`, then the
    compiled `schema`'s columns and types when it is known."""
    table = to_source_types(table)
    if schema is not None and not table.schema.equals(schema):
        table = table.select(schema.names).cast(schema)
    return table
