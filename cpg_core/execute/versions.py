"""Data versions of Arrow tables for Hamilton's cache: the store's content hash, computed once.

Hamilton cannot fingerprint `pa.Table` (docs/dependencies.md#hamilton-unhashable-tables: it becomes `<unhashable>` and everything
recomputes), so we register a handler with `hamilton.caching.fingerprinting.hash_value`. The
version is the store's order-independent content hash, so a view whose SQL changed but whose rows
did not gives the same version and its readers stay cached. Tables whose version is already known
(canonicalized outputs, rows read from the store, written inputs) are memoized by identity so they
are never sorted and hashed twice.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import pyarrow as pa
from hamilton.caching import fingerprinting

from cpg_core.execute.sources import SourceTable
from cpg_core.execute.stored_table import StoredTable
from cpg_core.store.content_hash import content_hash
from cpg_core.store.partitions import PartitionMap, Replaced

_lock = threading.Lock()
_known: dict[int, tuple[weakref.ref[pa.Table], str]] = {}
_partitions: dict[int, tuple[weakref.ref[pa.Table], dict[str, PartitionMap]]] = {}
_replaced: dict[int, tuple[weakref.ref[pa.Table], Replaced]] = {}


def remember(table: pa.Table, data_version: str) -> pa.Table:
    """Record `table`'s data version (for as long as the table lives); returns the table."""
    key = id(table)

    def forget(_: object, key: int = key) -> None:
        with _lock:
            _known.pop(key, None)
            _partitions.pop(key, None)
            _replaced.pop(key, None)

    with _lock:
        _known[key] = (weakref.ref(table, forget), data_version)
    return table


def remember_partitions(table: pa.Table, pmap: PartitionMap) -> pa.Table:
    """Record `table`'s partition map by its column. A table with no known data version gets
    the map's (its rows were hashed once, by partition: no second hash of the whole table)."""
    if known_version(table) is None:
        remember(table, pmap.version)
    with _lock:
        entry = _partitions.get(id(table))
        if entry is None or entry[0]() is not table:
            entry = _partitions[id(table)] = (weakref.ref(table), {})
        entry[1][pmap.column] = pmap
    return table


def remember_replaced(table: pa.Table, replaced: Replaced) -> pa.Table:
    """Record that a partial run made `table` from an earlier version (`Replaced`): its data
    tests can then check the new rows only. `table` must have a remembered data version."""
    assert known_version(table) is not None, "remember the table's data version first"
    with _lock:
        _replaced[id(table)] = (weakref.ref(table), replaced)
    return table


def replaced_from(table: pa.Table) -> Replaced | None:
    """How a partial run made `table`, if one did (never computes)."""
    with _lock:
        entry = _replaced.get(id(table))
    return entry[1] if entry is not None and entry[0]() is table else None


def known_partitions(table: pa.Table, column: str) -> PartitionMap | None:
    """The remembered partition map of `table` by `column`, or None (never computes)."""
    with _lock:
        entry = _partitions.get(id(table))
    if entry is None or entry[0]() is not table:
        return None
    return entry[1].get(column)


def known_version(table: pa.Table) -> str | None:
    """The remembered content hash of `table`, or None (never hashes)."""
    with _lock:
        entry = _known.get(id(table))
    return entry[1] if entry is not None and entry[0]() is table else None


def data_version(table: pa.Table | SourceTable | StoredTable) -> str:
    """The content hash of `table` (memoized by identity); a source's or stored table's
    recorded version (never read for it)."""
    if isinstance(table, SourceTable | StoredTable):
        return table.version
    with _lock:
        entry = _known.get(id(table))
    if entry is not None and entry[0]() is table:
        return entry[1]
    version = content_hash(table)
    remember(table, version)
    return version


def _hash_table(
    obj: pa.Table | SourceTable | StoredTable, *args: Any, depth: int = 0, **kwargs: Any
) -> str:
    return data_version(obj)


def _hash_signature(obj: Any, *args: Any, depth: int = 0, **kwargs: Any) -> str:
    return str(obj.signature)


def _hash_fingerprint(obj: Any, *args: Any, depth: int = 0, **kwargs: Any) -> str:
    return str(obj.fingerprint)


def _hash_run(obj: Any, *args: Any, depth: int = 0, **kwargs: Any) -> str:
    return str(obj.run_id)


def register_fingerprints() -> None:
    """Teach Hamilton's cache our types (idempotent; singledispatch registration is global)."""
    from cpg_core.execute.run import Run
    from cpg_core.execute.task_spec import ViewTask
    from cpg_core.plan.execution_plan import ExecutionPlan

    fingerprinting.hash_value.register(pa.Table)(_hash_table)
    fingerprinting.hash_value.register(SourceTable)(_hash_table)  # its recorded version
    fingerprinting.hash_value.register(StoredTable)(_hash_table)  # a cache hit: its version
    # Plans, tasks and the run are inputs the cache ignores; a cheap hash avoids walking them.
    fingerprinting.hash_value.register(ExecutionPlan)(_hash_signature)
    fingerprinting.hash_value.register(ViewTask)(_hash_fingerprint)
    fingerprinting.hash_value.register(Run)(_hash_run)
