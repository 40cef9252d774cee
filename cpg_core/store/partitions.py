"""Partitioned tables: per-partition content hashes, and the data version they compose.

A table partitioned by a column (an evidence table by `path`, a partition-incremental view by
its declared column) is tracked as a **partition map**: for every value of the column present
in the table (null is a partition of its own), the content hash of the rows holding it
(`hash_canonical` of those rows in canonical order; `hash_runs` computes them all in one
pass). The table's **data version** is the hash of that map (`PartitionMap.version`): a
content hash of the whole table — equal content gives an equal version, on any machine — that a
build updates in proportion to what changed, by rehashing only the partitions it recomputed. A
cold build computes the same map, hence the same version.

Partition values are named by their JSON text (`"a/b.py"`, `12`, `true`, `"2024-01-31"`,
`null`): one column has one type, so the text is unambiguous.

Maps persist as small files under `<store>/_cpg/partitions/<table>/<version>.msgpack`,
written with the run state after a successful build (`save_map`). A map file names the version
it describes and is checked against it on load (the version *is* the map's hash), so a damaged
or stale file is never trusted: the reader rebuilds more, never less.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from cpg_core.store.atomic import atomic_write
from cpg_core.store.content_hash import canonical_order, to_store_types
from cpg_core.store.hash_streams import hash_runs, type_text
from cpg_core.store.parallel_sort import take_rows

PARTITION_FORMAT: Final = 1
MAPS_DIR: Final = Path("_cpg") / "partitions"
NULL_KEY: Final = "null"


class PartitionMap(msgspec.Struct, frozen=True, kw_only=True):
    """A partitioned table's partition column, schema (name, type text) and, per partition
    value (its JSON text), the content hash of its rows."""

    column: str
    schema: tuple[tuple[str, str], ...]
    hashes: dict[str, str]

    @property
    def version(self) -> str:
        """The table's data version: the hash of this map."""
        body = [PARTITION_FORMAT, self.column, self.schema, sorted(self.hashes.items())]
        return hashlib.sha256(msgspec.msgpack.encode(body)).hexdigest()

    def replaced(self, keys: Iterable[str], fresh: PartitionMap) -> PartitionMap:
        """This map with the partitions `keys` replaced by those of `fresh` (absent there:
        the partition is gone)."""
        gone = set(keys)
        hashes = {k: v for k, v in self.hashes.items() if k not in gone}
        hashes.update(fresh.hashes)
        return PartitionMap(column=self.column, schema=fresh.schema, hashes=hashes)


class Replaced(msgspec.Struct, frozen=True):
    """How a partial run made a table: its first `kept_rows` rows are rows of the table at
    data version `base` (the partitions it kept), the rows after them are new (the partitions it
    recomputed). What a test of the old table still says about the new one starts here."""

    base: str
    kept_rows: int


def schema_of(schema: pa.Schema) -> tuple[tuple[str, str], ...]:
    """A schema as the map records it: (name, type text) in store types."""
    from cpg_core.store.content_hash import store_schema

    return tuple((f.name, type_text(f.type)) for f in store_schema(schema))


def key_text(value: Any) -> str:
    """The name of a partition value: its JSON text (dates ISO, null `null`)."""
    return msgspec.json.encode(value).decode()


def changed_keys(old: PartitionMap, new: PartitionMap) -> frozenset[str]:
    """Partitions whose rows differ between two maps of one column (added, removed, changed)."""
    keys = old.hashes.keys() | new.hashes.keys()
    return frozenset(k for k in keys if old.hashes.get(k) != new.hashes.get(k))


# ----------------------------------------------------------------------------- computing maps


def partition(table: pa.Table, column: str) -> tuple[pa.Table, PartitionMap]:
    """`table` in store types, sorted by `column` (nulls last) and then canonically, and its
    partition map. One sort for the whole table; each partition is one contiguous run."""
    typed = to_store_types(table)
    ordered = take_rows(typed, canonical_order(typed, lead=column)) if typed.num_rows > 1 else typed
    bounds = _runs(ordered.column(column))
    values = ordered.column(column).take(pa.array([s for s, _ in bounds], pa.int64()))
    keys = [key_text(value) for value in values.to_pylist()]
    hashes = dict(zip(keys, hash_runs(ordered, bounds), strict=True))
    return ordered, PartitionMap(column=column, schema=schema_of(typed.schema), hashes=hashes)


def _runs(column: pa.ChunkedArray) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal values in a sorted column (nulls equal each other)."""
    n = len(column)
    if n == 0:
        return []
    flat = column.combine_chunks()
    same = pc.fill_null(_call("equal", flat.slice(1), flat.slice(0, n - 1)), False)
    both_null = _call(
        "and", _call("is_null", flat.slice(1)), _call("is_null", flat.slice(0, n - 1))
    )
    boundary = _call("invert", _call("or", same, both_null))
    starts = [0, *(i + 1 for i in _call("indices_nonzero", boundary).to_pylist())]
    return list(zip(starts, [*starts[1:], n], strict=True))


def _call(name: str, *args: Any, options: pc.FunctionOptions | None = None) -> Any:
    """`pyarrow.compute` by name (its kernels are generated at import time, invisible to pyright)."""
    return pc.call_function(name, list(args), options)


# ----------------------------------------------------------------------------- selecting rows


def key_values(keys: Iterable[str], type_: pa.DataType) -> tuple[pa.Array, bool]:
    """The partition values named by `keys` as an array of `type_` (nulls left out), and
    whether the null partition is among them."""
    decoded = [msgspec.json.decode(k) for k in keys]
    has_null = any(v is None for v in decoded)
    present = [v for v in decoded if v is not None]
    if pa.types.is_date(type_):
        return pc.cast(pa.array(present, pa.string()), type_), has_null
    return pa.array(present).cast(type_) if present else pa.array([], type_), has_null


def in_partitions(table: pa.Table, column: str, keys: Iterable[str]) -> pa.Array:
    """A boolean mask: is the row's `column` value one of the partitions `keys`?"""
    data = table.column(column)
    values, has_null = key_values(keys, data.type)
    mask = pc.fill_null(
        _call("is_in", data, options=pc.SetLookupOptions(values, skip_nulls=True)), False
    )
    if has_null:
        mask = _call("or", mask, _call("is_null", data))
    return mask


def rows_in(table: pa.Table, column: str, keys: Iterable[str]) -> pa.Table:
    """The rows of `table` in the partitions `keys`."""
    return select_rows(table, in_partitions(table, column, keys))


def rows_outside(table: pa.Table, column: str, keys: Iterable[str]) -> pa.Table:
    """The rows of `table` in no partition of `keys`."""
    return select_rows(table, _call("invert", in_partitions(table, column, keys)))


MAX_SLICES = 256  # beyond this many runs of selected rows, one filter (a copy) is cheaper


def select_rows(table: pa.Table, mask: pa.Array | pa.ChunkedArray) -> pa.Table:
    """The rows where `mask` (no nulls) is true, in order: zero-copy slices of `table` when
    they form at most `MAX_SLICES` runs — a partitioned table holds each partition's rows
    together, so dropping or keeping a few partitions copies nothing (filtering the
    stdlib's evidence tables to drop one file's rows copied them all: ~1 s) — else a filter."""
    flat = mask.combine_chunks() if isinstance(mask, pa.ChunkedArray) else mask
    n = len(flat)
    if n == 0:
        return table.slice(0, 0)
    changes = _call("indices_nonzero", _call("not_equal", flat.slice(1), flat.slice(0, n - 1)))
    if len(changes) >= 2 * MAX_SLICES:
        return table.filter(flat)
    bounds = [0, *(i + 1 for i in changes.to_pylist()), n]
    first_selected = bool(flat[0].as_py())
    runs = [
        (start, stop)
        for k, (start, stop) in enumerate(itertools.pairwise(bounds))
        if (k % 2 == 0) == first_selected
    ]
    if not runs:
        return table.slice(0, 0)
    return pa.concat_tables([table.slice(start, stop - start) for start, stop in runs])


def outside_expression(column: str, keys: Iterable[str], type_: pa.DataType) -> pc.Expression:
    """A filter keeping the rows in no partition of `keys` (a scan evaluates it as it reads,
    and skips the files whose statistics show they hold only those partitions)."""
    values, has_null = key_values(keys, type_)
    field = pc.field(column)
    outside = ~field.isin(values)
    return outside & field.is_valid() if has_null else outside | field.is_null()


def predicate(column: str, keys: Iterable[str], type_: pa.DataType) -> str:
    """A Delta predicate (SQL) selecting the partitions `keys` of `column`."""
    quoted = '"' + column.replace('"', '""') + '"'
    values, has_null = key_values(keys, type_)
    literals = [_literal(v, type_) for v in values.to_pylist()]
    parts = [f"{quoted} IN ({', '.join(literals)})"] if literals else []
    if has_null:
        parts.append(f"{quoted} IS NULL")
    return " OR ".join(parts) if parts else "FALSE"


def _literal(value: Any, type_: pa.DataType) -> str:
    if pa.types.is_boolean(type_):
        return "TRUE" if value else "FALSE"
    if pa.types.is_integer(type_):
        return str(int(value))
    if pa.types.is_date(type_):
        return f"CAST('{value.isoformat()}' AS DATE)"
    return "'" + str(value).replace("'", "''") + "'"


# ----------------------------------------------------------------------------- map files


def map_path(root: Path, table: str, version: str) -> Path:
    return Path(root) / MAPS_DIR / table / f"{version}.msgpack"


def save_map(root: Path, table: str, pmap: PartitionMap) -> None:
    """Write `pmap` as the map of `table` at its version (once: the file never changes)."""
    path = map_path(root, table, pmap.version)
    if not path.exists():
        atomic_write(path, msgspec.msgpack.encode(pmap))


def load_map(root: Path, table: str, version: str) -> PartitionMap | None:
    """The map of `table` at `version`; None when there is none or it does not verify."""
    try:
        data = map_path(root, table, version).read_bytes()
        pmap = msgspec.msgpack.decode(data, type=PartitionMap)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    return pmap if pmap.version == version else None


def keep_maps(root: Path, referenced: Mapping[str, set[str]]) -> None:
    """Delete every map file but those of `referenced` (table → versions)."""
    base = Path(root) / MAPS_DIR
    if not base.is_dir():
        return
    for folder in base.iterdir():
        wanted = referenced.get(folder.name, set())
        if not wanted:
            shutil.rmtree(folder, ignore_errors=True)
            continue
        for file in folder.iterdir():
            if file.name.removesuffix(".msgpack") not in wanted:
                with contextlib.suppress(OSError):
                    file.unlink()


def table_version(table: pa.Table, partition_by: str | None) -> str:
    """The data version of a table's rows as the store records it: its partition map's for a
    partitioned table (`StoredVersion.partition_by`), its content hash for any other."""
    if partition_by is None:
        from cpg_core.store.content_hash import content_hash

        return content_hash(table)
    return partition(table, partition_by)[1].version
