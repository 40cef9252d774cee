"""Canonical streams: the bytes a content hash reads from a table, for any runs of its rows.

A table already in store types and canonical order is hashed column by column as separate
sha256 streams (null positions, values, lengths, children), with null slots zeroed, so the digest
depends neither on chunk boundaries nor on slice offsets nor on the bytes under a null. Why runs:
a partitioned table needs the digest of every partition (a contiguous run of its sorted rows),
thousands per table on a repository; preparing each column chunk once (its kernels run once, over
the whole chunk) and then cutting each run's bytes out of the prepared buffers costs a few
microseconds per run and column, where hashing each slice on its own ran every kernel per run.
`hash_canonical` (one run: the whole table) and a partition map's hashes are the same encoding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from hashlib import _Hash

HASH_FORMAT = 2  # bump when the encoding changes: every data version changes with it

Kind = Literal["null", "fixed", "string", "list", "struct"]


def _call(name: str, *args: Any, options: pc.FunctionOptions | None = None) -> Any:
    """`pyarrow.compute` by name: its kernels are generated at import time, invisible to pyright."""
    return pc.call_function(name, list(args), options)


def type_text(t: pa.DataType) -> str:
    """A type's canonical text for the hash: no nullability, no list element names, no metadata."""
    if isinstance(t, pa.MapType):
        return f"map<{type_text(t.key_type)},{type_text(t.item_type)}>"
    if isinstance(t, pa.ListType):
        return f"list<{type_text(t.value_type)}>"
    if isinstance(t, pa.StructType):
        return "struct<" + ",".join(f"{f.name!r}:{type_text(f.type)}" for f in t.fields) + ">"
    return str(t)


def list_type(t: pa.DataType) -> pa.DataType:
    """Maps as list<struct<key, value>>: the same layout, and list kernels accept it."""
    if not isinstance(t, pa.MapType):
        return t
    entries = pa.struct([t.key_field, t.item_field])
    return pa.list_(pa.field("entries", entries, nullable=False))


class _Streams:
    """One run's independent sha256 streams keyed by column path; `rows` counts rows per path."""

    def __init__(self) -> None:
        self.hashers: dict[str, _Hash] = {}
        self.rows: dict[str, int] = {}

    def feed(self, key: str, data: memoryview | bytes) -> None:
        hasher = self.hashers.get(key)
        if hasher is None:
            hasher = self.hashers[key] = hashlib.sha256()
        hasher.update(data)

    def digests(self) -> list[tuple[str, bytes]]:
        return [(key, self.hashers[key].digest()) for key in sorted(self.hashers)]


# --------------------------------------------------------------------------- prepared chunks


@dataclass
class _Prepared:
    """One column chunk (or a nested level of it) ready to be cut into runs.

    `values`: fixed-width bytes (nulls zeroed), string data, or nothing; `width`: bytes per row
    of `values` (fixed) or of `lengths`; `lengths`: int32 per row (strings, lists); `offsets`:
    per row boundary, the position in `values` (strings) or in the child level (lists);
    `nulls`: ascending positions of null rows, None when there are none."""

    path: str
    kind: Kind
    nulls: np.ndarray | None = None
    values: memoryview | None = None
    width: int = 0
    lengths: memoryview | None = None
    offsets: np.ndarray | None = None
    children: list[_Prepared] = field(default_factory=list)


def _buffer_bytes(array: pa.Array) -> memoryview:
    """The value bytes of a null-free fixed-width array, honouring its slice offset."""
    width = array.type.bit_width // 8
    buffer = array.buffers()[1]
    assert buffer is not None
    return memoryview(buffer)[array.offset * width : (array.offset + len(array)) * width]


def _zero(t: pa.DataType) -> pa.Scalar:
    if pa.types.is_decimal(t):  # int64 0 cast to decimal(p, s) needs p - s >= 19 digits
        return pa.scalar(Decimal(0), t)
    return pa.scalar(0, pa.int64()).cast(t) if not pa.types.is_date32(t) else pa.scalar(0, t)


def _null_positions(array: pa.Array) -> np.ndarray | None:
    if not array.null_count:
        return None
    found = _call("indices_nonzero", _call("is_null", array))
    return pc.cast(found, pa.int64()).to_numpy()


def _prepare(array: pa.Array, path: str) -> _Prepared:
    """Run every kernel a column chunk's streams need, once for the whole chunk."""
    t = array.type
    nulls = _null_positions(array)
    if pa.types.is_null(t):
        return _Prepared(path, "null", nulls)
    if isinstance(t, pa.StructType):
        assert isinstance(array, pa.StructArray)
        children = [_prepare(c, f"{path}/{i}") for i, c in enumerate(array.flatten())]
        return _Prepared(path, "struct", nulls, children=children)  # parent nulls merged above
    if isinstance(t, pa.ListType | pa.MapType):
        as_list = array.view(list_type(t))
        lengths = pc.fill_null(_call("list_value_length", as_list), 0)
        bounds = np.zeros(len(array) + 1, dtype=np.int64)
        np.cumsum(lengths.to_numpy(), out=bounds[1:])
        child = _prepare(_call("list_flatten", as_list), path + "/e")
        return _Prepared(
            path, "list", nulls, lengths=_buffer_bytes(lengths), offsets=bounds, children=[child]
        )
    if pa.types.is_string(t) or pa.types.is_binary(t):
        return _prepare_strings(array, path, nulls)
    if pa.types.is_boolean(t):
        values = pc.cast(pc.fill_null(array, False), pa.uint8())
    else:
        values = pc.fill_null(array, _zero(t)) if array.null_count else array
    return _Prepared(path, "fixed", nulls, _buffer_bytes(values), values.type.bit_width // 8)


def _string_offsets(array: pa.Array) -> tuple[np.ndarray, memoryview]:
    """A string/binary chunk's value offsets (one per row boundary) and its data bytes."""
    offsets_buffer, data_buffer = array.buffers()[1], array.buffers()[2]
    assert offsets_buffer is not None
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)
    offsets = offsets[array.offset : array.offset + len(array) + 1]
    return offsets, memoryview(data_buffer) if data_buffer is not None else memoryview(b"")


def _prepare_strings(array: pa.Array, path: str, nulls: np.ndarray | None) -> _Prepared:
    """Strings as lengths and data. Null slots read as empty: the chunk is copied with them
    filled only if some null slot hides bytes (a large column is otherwise not copied)."""
    offsets, data = _string_offsets(array)
    if nulls is not None and np.any(offsets[nulls + 1] != offsets[nulls]):
        t = array.type
        filled = pc.fill_null(array, pa.scalar(b"" if pa.types.is_binary(t) else "", t))
        offsets, data = _string_offsets(filled)
    lengths = memoryview(np.diff(offsets).tobytes())
    return _Prepared(path, "string", nulls, data, 4, lengths, offsets)


def _feed(prepared: _Prepared, lo: int, hi: int, streams: _Streams) -> None:
    """Feed rows [lo, hi) of a prepared chunk into one run's streams."""
    path = prepared.path
    base = streams.rows.get(path, 0)
    streams.rows[path] = base + hi - lo
    streams.feed(path + "/n", b"")
    nulls = prepared.nulls
    if nulls is not None:
        first, last = np.searchsorted(nulls, (lo, hi))
        if last > first:
            streams.feed(path + "/n", (nulls[first:last] + (base - lo)).tobytes())
    kind = prepared.kind
    if kind == "struct":
        for child in prepared.children:
            _feed(child, lo, hi, streams)
    elif kind == "list":
        assert prepared.lengths is not None and prepared.offsets is not None
        streams.feed(path + "/len", prepared.lengths[lo * 4 : hi * 4])
        bounds = prepared.offsets
        _feed(prepared.children[0], int(bounds[lo]), int(bounds[hi]), streams)
    elif kind == "string":
        assert prepared.lengths is not None and prepared.offsets is not None
        assert prepared.values is not None
        streams.feed(path + "/len", prepared.lengths[lo * 4 : hi * 4])
        first, last = int(prepared.offsets[lo]), int(prepared.offsets[hi])
        if last > first:
            streams.feed(path + "/v", prepared.values[first:last])
    elif kind == "fixed":
        assert prepared.values is not None
        width = prepared.width
        streams.feed(path + "/v", prepared.values[lo * width : hi * width])


# --------------------------------------------------------------------------- digests


def _chunks(column: pa.ChunkedArray) -> list[pa.Array]:
    """The chunks of `column`, at least one (an empty table may have none)."""
    return list(column.chunks) or [pa.array([], type=column.type)]


def hash_runs(table: pa.Table, runs: Sequence[tuple[int, int]]) -> list[str]:
    """The content hash of each run `[start, stop)` of `table`'s rows (store types, canonical
    order; runs ascending, not overlapping): exactly `hash_canonical` of each run's slice,
    computed in one pass over the columns."""
    streams = [_Streams() for _ in runs]
    for i, column in enumerate(table.columns):
        _feed_column(_chunks(column), str(i), runs, streams)
    schema = [[f.name, type_text(f.type)] for f in table.schema]
    return [
        hashlib.sha256(
            msgspec.msgpack.encode([HASH_FORMAT, schema, hi - lo, run.digests()])
        ).hexdigest()
        for (lo, hi), run in zip(runs, streams, strict=True)
    ]


def _feed_column(
    chunks: list[pa.Array], path: str, runs: Sequence[tuple[int, int]], streams: list[_Streams]
) -> None:
    """Feed each run its rows of one column, chunk by chunk (a run may span chunks)."""
    empty = [k for k, (lo, hi) in enumerate(runs) if hi <= lo]
    if empty:  # an empty run still has the column's streams, as an empty slice has
        prepared = _prepare(chunks[0], path)
        for k in empty:
            _feed(prepared, 0, 0, streams[k])
    filled = [k for k, (lo, hi) in enumerate(runs) if hi > lo]
    at, offset = 0, 0
    for chunk in chunks:
        stop = offset + len(chunk)
        if stop == offset:
            continue
        prepared = _prepare(chunk, path)
        while at < len(filled) and runs[filled[at]][0] < stop:
            lo, hi = runs[filled[at]]
            _feed(prepared, max(lo, offset) - offset, min(hi, stop) - offset, streams[filled[at]])
            if hi > stop:
                break  # the run goes on in the next chunk
            at += 1
        offset = stop


def hash_canonical(table: pa.Table) -> str:
    """sha256 hex digest of a table already in store types and canonical order."""
    return hash_runs(table, [(0, table.num_rows)])[0]


__all__ = ["HASH_FORMAT", "hash_canonical", "hash_runs", "list_type", "type_text"]
