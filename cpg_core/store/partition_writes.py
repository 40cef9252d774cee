"""Storing a partitioned table: replace only the partitions whose rows changed, in one commit.

Why here: evidence tables (partitioned by `path`) and partition-incremental views are stored
the same way. The stored table's partition map (`store.partitions`, the map file of its
current data version) says what is there; the new map says what should be; the partitions
whose hashes differ are replaced in one Delta commit (`DeltaStore.replace_partitions`), the
rest of the table is not touched. Without a trusted stored map (first build, a build killed
before its maps were saved, a damaged map file), or when most partitions changed, the whole
table is written: more work, never a wrong table.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from cpg_core.store.content_hash import trusted
from cpg_core.store.delta_store import DeltaStore, StoredVersion
from cpg_core.store.partitions import (
    PartitionMap,
    changed_keys,
    load_map,
    predicate,
    rows_in,
)

REPLACE_AT_MOST = 0.5  # above this share of changed partitions, rewriting the table is cheaper


@dataclass(frozen=True)
class PartitionedWrite:
    """What storing a partitioned table did: the stored version, and how many partitions were
    replaced (None: the whole table was written; 0: nothing changed)."""

    stored: StoredVersion
    replaced: int | None


def write_partitioned(
    store: DeltaStore,
    name: str,
    table: pa.Table,
    pmap: PartitionMap,
    *,
    fingerprint: str,
    run_id: str,
    repair: bool = False,
) -> PartitionedWrite:
    """Store `table` (store types; its partition map `pmap`) as `name`, replacing only the
    partitions that differ from the stored table's (`repair`: all of it, even unchanged —
    the stored files failed `check_files`)."""
    version = pmap.version
    current = None if repair else store.info(name)
    if current is not None and current.data_version == version:
        return PartitionedWrite(current, 0)
    base = _stored_map(store, name, current, pmap.column)
    if current is not None and base is not None and base.schema == pmap.schema:
        keys = changed_keys(base, pmap)
        if len(keys) <= REPLACE_AT_MOST * len(base.hashes.keys() | pmap.hashes.keys()):
            column_type = table.schema.field(pmap.column).type
            stored = store.replace_partitions(
                name,
                rows_in(table, pmap.column, keys),
                where=predicate(pmap.column, keys, column_type),
                partition_by=pmap.column,
                base_version=current.version,
                fingerprint=fingerprint,
                data_version=version,
                run_id=run_id,
            )
            return PartitionedWrite(stored, len(keys))
    stored = store.write(
        name,
        trusted(table, version),
        fingerprint=fingerprint,
        data_version=version,
        run_id=run_id,
        partition_by=pmap.column,
        repair=repair,
    )
    return PartitionedWrite(stored, None)


def _stored_map(
    store: DeltaStore, name: str, current: StoredVersion | None, column: str
) -> PartitionMap | None:
    """The partition map of what is stored, when the store has one it can trust."""
    if current is None or current.partition_by != column or current.data_version is None:
        return None
    return load_map(store.root, name, current.data_version)
