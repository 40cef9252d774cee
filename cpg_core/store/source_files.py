"""A partitioned Parquet source read file by file, its partition map from the files' bytes.

Why: to know which partitions of a source changed, hashing its rows by partition means decoding
and sorting all of them on every build — the cost an incremental build exists to avoid. A
Parquet source laid out as files (one per day, per file, ...) says more cheaply what changed:
each file is read from the bytes that are hashed (sha256, no decode), and a partition's hash is
the hash of the files that hold its rows. Equal bytes give equal hashes; files rewritten with
the same rows give new ones — a build then recomputes more, never less. The table is exactly
what reading the folder as one dataset gives (the files in the dataset's order).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from cpg_core.store.partitions import PartitionMap, key_text, schema_of
from cpg_core.store.store_types import as_compiled


class NotByFile(ValueError):
    """The source cannot be mapped file by file (a partition column outside the files, files
    of other schemas): read it whole and hash its rows instead."""


def read_by_file(
    path: Path, columns: Sequence[str], schema: pa.Schema | None = None
) -> tuple[pa.Table, list[PartitionMap]]:
    """The Parquet file or folder at `path` and its partition map by each of `columns`; each
    file's rows as views were compiled against them (`store_types.as_compiled`, `schema`)."""
    files = sorted(pads.dataset(path, format="parquet").files)
    parts: list[pa.Table] = []
    holders: dict[str, dict[str, list[str]]] = {c: {} for c in columns}
    for file in files:
        data = Path(file).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        table = pq.read_table(pa.BufferReader(data))
        for column in columns:
            if column not in table.column_names:
                raise NotByFile(f"{file} has no column {column!r}")
        try:
            table = as_compiled(table, schema)
        except (KeyError, pa.ArrowInvalid) as error:  # a file unlike the compiled schema
            raise NotByFile(f"{file} does not have the source's schema: {error}") from error
        for column in columns:
            for value in table.column(column).unique().to_pylist():
                holders[column].setdefault(key_text(value), []).append(digest)
        parts.append(table)
    if not parts:
        raise NotByFile(f"no Parquet file under {path}")
    try:
        table = pa.concat_tables(parts)
    except pa.ArrowInvalid as error:
        raise NotByFile(f"the files of {path} differ in schema: {error}") from error
    recorded = schema_of(table.schema)
    maps = [
        PartitionMap(
            column=column,
            schema=recorded,
            hashes={k: _combine(v) for k, v in sorted(holders[column].items())},
        )
        for column in columns
    ]
    return table, maps


def _combine(digests: list[str]) -> str:
    return hashlib.sha256("\0".join(sorted(digests)).encode()).hexdigest()
