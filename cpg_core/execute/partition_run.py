"""What one build knows and decides about partitioned tables (`Run.partitions`).

Why a run-side object: which partitions of a partition-incremental view to recompute depends on
the last *successful* build (its recorded input versions, in the run state) and on the inputs
of this one (driver partition maps, lookup data versions), and is decided on a cache miss, in
the thread that is about to run the view, right before it runs. The decision reaches the node
as a per-call `ViewTask` (`PartialRun`): nothing cached is changed.

A view is recomputed whole — never less than needed — when there is no record of an earlier
build of it, the stored table is not the one that build recorded (a build killed after
writing it), the view or its declaration changed (its fingerprint), a lookup input changed,
a partition map needed to compare is missing, or most partitions changed. Otherwise the
changed partitions are those whose hashes differ in any driver's map, then and now. A view
declaring `dependencies` also survives a changed lookup partitioned like it: the lookup's
changed partitions, and the partitions the dependencies table lists as reading them, are
added (`_dependent_keys`).

Maps seen in the run are kept by (table, data version) and written with the run state at the
commit (`commit`), which also deletes map files no record refers to any more.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pyarrow as pa

from cpg_core.execute.codegen import task_input
from cpg_core.execute.sources import InputTable, SourceTable, as_table
from cpg_core.execute.stored_table import StoredTable
from cpg_core.execute.task_spec import PartialRun, ViewTask
from cpg_core.execute.versions import data_version, known_partitions, remember_partitions
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.partitioning import Partitioning
from cpg_core.store.content_hash import store_type
from cpg_core.store.delta_store import DeltaStore, StoredVersion
from cpg_core.store.partition_writes import REPLACE_AT_MOST, PartitionedWrite, write_partitioned
from cpg_core.store.partitions import (
    PartitionMap,
    changed_keys,
    keep_maps,
    key_text,
    load_map,
    outside_expression,
    partition,
    rows_in,
    save_map,
)
from cpg_core.store.runs import DatasetState, RunState, load_state


@dataclass
class PartitionRun:
    """One build's partition state (see the module docstring)."""

    plan: ExecutionPlan
    store: DeltaStore
    maps: dict[tuple[str, str], PartitionMap] = field(default_factory=dict)
    partial: dict[str, frozenset[str]] = field(default_factory=dict)  # view → keys recomputed
    reasons: dict[str, str] = field(default_factory=dict)  # view → why it was rebuilt whole
    counts: dict[str, int] = field(default_factory=dict)  # view → partitions recomputed
    _previous: RunState | None = None
    _loaded: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def partitioning(self, name: str) -> Partitioning | None:
        task = self.plan.tasks.get(name)
        return task.partitioning if task is not None else None

    # -- maps --------------------------------------------------------------------------------

    def note(self, table: str, pmap: PartitionMap) -> None:
        """A map of `table` at its version, known in this run (saved at the commit)."""
        with self._lock:
            self.maps[(table, pmap.version)] = pmap

    def map_of(self, name: str, table: pa.Table | StoredTable, column: str) -> PartitionMap:
        """`table`'s map by `column`: remembered, or computed (once) and remembered. A stored
        table's (a cache hit) is the map saved for its version when there is one: not read."""
        if isinstance(table, StoredTable):
            saved = load_map(self.store.root, name, table.version)
            if saved is not None and saved.column == column:
                self.note(name, saved)
                return saved
            table = table.table()
        pmap = known_partitions(table, column)
        if pmap is None:
            pmap = partition(table, column)[1]
            remember_partitions(table, pmap)
        self.note(name, pmap)
        return pmap

    def input_maps(self, views: tuple[str, ...], tables: Mapping[str, InputTable]) -> None:
        """Maps of the input tables (sources, evidence) that drive partitioned views of the
        run, before anything hashes them whole (their data version is then the map's). A
        driving source is handed in as rows (`pipeline` reads it at the start); a lazy one has
        no map, and its views are rebuilt whole."""
        for view in views:
            partitioning = self.partitioning(view)
            if partitioning is None:
                continue
            for driver in partitioning.drivers:
                table = tables.get(driver.table)
                if isinstance(table, pa.Table):
                    self.map_of(driver.table, table, driver.column)
            if partitioning.dependencies is not None:  # lookups partitioned alike (evidence)
                for name in self.plan.tasks[view].inputs:
                    table = tables.get(name)
                    pmap = (
                        known_partitions(table, partitioning.column)
                        if isinstance(table, pa.Table)
                        else None
                    )
                    if pmap is not None:
                        self.note(name, pmap)

    def driver_columns(self, views: Sequence[str], table: str) -> list[str]:
        """The columns by which partition-incremental views among `views` are driven by
        `table` (empty: it drives none)."""
        columns = {
            driver.column
            for view in views
            if (partitioning := self.partitioning(view)) is not None
            for driver in partitioning.drivers
            if driver.table == table
        }
        return sorted(columns)

    def saw_inputs(self, name: str, kwargs: Mapping[str, Any]) -> None:
        """Note the driver maps a partitioned view's node is given, when already known."""
        partitioning = self.partitioning(name)
        for driver in partitioning.drivers if partitioning is not None else ():
            table = kwargs.get(driver.table)
            pmap = known_partitions(table, driver.column) if isinstance(table, pa.Table) else None
            if pmap is not None:
                self.note(driver.table, pmap)

    def changed_since_last_build(
        self, name: str, table: pa.Table, column: str
    ) -> frozenset[str] | None:
        """The partitions of input `name` whose rows differ from the last successful build's
        (e.g. the files an edit touched, for an evidence table); None when that build's map of
        it is not known (then anything may have changed)."""
        previous = self.previous()
        record = previous.datasets.get(name) if previous is not None else None
        old = load_map(self.store.root, name, record.data_version) if record is not None else None
        if old is None or old.column != column:
            return None
        return changed_keys(old, self.map_of(name, table, column))

    # -- the decision ------------------------------------------------------------------------

    def previous(self) -> RunState | None:
        with self._lock:
            if not self._loaded:
                self._previous, self._loaded = load_state(self.store.root).state, True
            return self._previous

    def prepare(
        self, name: str, kwargs: dict[str, Any], stored: StoredVersion | None
    ) -> dict[str, Any]:
        """The node's inputs for this call: the task made partial when only some partitions
        need recomputing (a new `ViewTask`; `kwargs` itself is not changed)."""
        partitioning = self.partitioning(name)
        task = kwargs.get(task_input(name))
        if partitioning is None or not isinstance(task, ViewTask):
            return kwargs
        decided = self._decide(name, partitioning, task, kwargs, stored)
        if isinstance(decided, str):
            with self._lock:
                self.reasons[name] = decided
            return kwargs
        keys, base = decided
        assert stored is not None
        schema = self.plan.tasks[name].output_schema
        assert schema is not None  # an admitted view's output schema is known
        column_type = store_type(schema.field(partitioning.column).type)
        where = outside_expression(partitioning.column, keys, column_type)
        kept = self.store.read(name, stored.version, where=where)
        partial = PartialRun(keys=keys, kept=kept, base=base)
        with self._lock:
            self.partial[name] = keys
        return {**kwargs, task_input(name): msgspec.structs.replace(task, partial=partial)}

    def _decide(
        self,
        name: str,
        partitioning: Partitioning,
        task: ViewTask,
        kwargs: Mapping[str, Any],
        stored: StoredVersion | None,
    ) -> tuple[frozenset[str], PartitionMap] | str:
        """(partitions to recompute, the stored map), or why the view is rebuilt whole."""
        previous = self.previous()
        record = previous.datasets.get(name) if previous is not None else None
        if record is None or record.inputs is None:
            return "no earlier build of it is recorded"
        if stored is None or stored.data_version != record.data_version:
            return "the stored table is not the one the last successful build recorded"
        if record.fingerprint != task.fingerprint or stored.partition_by != partitioning.column:
            return "the view or its declaration changed"
        drivers = {d.table: d.column for d in partitioning.drivers}
        if not drivers:
            return "it has no driving input (drivers = none)"
        changed_lookups: list[str] = []
        for table in task.inputs:
            value = kwargs.get(table)
            if not isinstance(value, pa.Table | SourceTable | StoredTable):
                return f"input {table!r} is missing"
            if table in drivers and isinstance(value, SourceTable):
                return f"driving input {table!r} has no partition map (a lazy source)"
            if table not in drivers and data_version(value) != record.inputs.get(table):
                if partitioning.dependencies is None:
                    return f"lookup input {table!r} changed"
                changed_lookups.append(table)
        keys: set[str] = set()
        if changed_lookups:
            dependent = self._dependent_keys(partitioning, changed_lookups, kwargs, record)
            if isinstance(dependent, str):
                return dependent
            keys |= dependent
        for table, column in drivers.items():
            before = record.inputs.get(table)
            old = load_map(self.store.root, table, before) if before else None
            if old is None or old.column != column:
                return f"no partition map of {table!r} as last built"
            keys |= changed_keys(old, self.map_of(table, kwargs[table], column))
        assert stored.data_version is not None
        base = load_map(self.store.root, name, stored.data_version)
        if base is None:
            return "no partition map of the stored table"
        if len(keys) > REPLACE_AT_MOST * max(1, len(base.hashes.keys() | keys)):
            return f"{len(keys)} of {len(base.hashes.keys() | keys)} partitions changed"
        return frozenset(keys), base

    def _dependent_keys(
        self,
        partitioning: Partitioning,
        lookups: Sequence[str],
        kwargs: Mapping[str, Any],
        record: DatasetState,
    ) -> frozenset[str] | str:
        """The partitions to recompute because lookups changed, for a view declaring
        `dependencies`: each changed partition of a lookup partitioned like the view (a
        partition depends on its own), and every partition the dependencies table lists as
        reading one of them. A changed lookup without a map by the view's partition column as
        last built (a table not partitioned alike, a lazy source) means the whole view."""
        column, dependencies = partitioning.column, partitioning.dependencies
        assert dependencies is not None and record.inputs is not None
        changed: set[str] = set()
        for table in lookups:
            value, before = kwargs[table], record.inputs.get(table)
            old = load_map(self.store.root, table, before) if before else None
            if old is None or old.column != column or isinstance(value, SourceTable):
                return f"lookup input {table!r} changed (not partitioned by {column!r})"
            changed |= changed_keys(old, self.map_of(table, value, column))
        edges = as_table(kwargs[dependencies.table]).select([column, dependencies.column])
        readers = rows_in(edges, dependencies.column, changed).column(column).unique()
        return frozenset(changed | {key_text(v) for v in readers.to_pylist()})

    # -- after the node ----------------------------------------------------------------------

    def store_output(
        self, name: str, result: pa.Table, *, fingerprint: str, run_id: str, repair: bool
    ) -> PartitionedWrite:
        """Store a partitioned view's output, replacing only its changed partitions (all of
        it when `repair`ing a damaged table)."""
        partitioning = self.partitioning(name)
        assert partitioning is not None
        pmap = self.map_of(name, result, partitioning.column)
        return write_partitioned(
            self.store, name, result, pmap, fingerprint=fingerprint, run_id=run_id, repair=repair
        )

    def recomputed(self, name: str, result: pa.Table, executed: bool) -> int | None:
        """How many partitions of a partitioned view this run recomputed (None: not one)."""
        partitioning = self.partitioning(name)
        if partitioning is None:
            return None
        with self._lock:
            keys = self.partial.get(name)
        if keys is not None:
            count = len(keys)
        elif not executed:
            count = 0
        else:
            count = len(self.map_of(name, result, partitioning.column).hashes)
        with self._lock:
            self.counts[name] = count
        return count

    # -- the commit --------------------------------------------------------------------------

    def commit(self, state: RunState) -> None:
        """After the run state is committed: save the maps it refers to, delete the rest."""
        referenced: dict[str, set[str]] = {}
        for name, dataset in state.datasets.items():
            if dataset.partition_by is not None:
                referenced.setdefault(name, set()).add(dataset.data_version)
            for table, version in (dataset.inputs or {}).items():
                referenced.setdefault(table, set()).add(version)
        with self._lock:
            maps = dict(self.maps)
        for (table, version), pmap in sorted(maps.items()):
            if version in referenced.get(table, ()):
                save_map(self.store.root, table, pmap)
        keep_maps(self.store.root, referenced)


def partitioned_state(
    dataset: DatasetState, partitioning: Partitioning | None, inputs: Mapping[str, str]
) -> DatasetState:
    """A view's run state with what the next build compares (unchanged for other views)."""
    if partitioning is None:
        return dataset
    return msgspec.structs.replace(
        dataset, partition_by=partitioning.column, inputs=dict(sorted(inputs.items()))
    )
