"""The tables a run reads: views from the store, input tables handed in (evidence is stored too).

Why here and not in the pipeline: what a run reads follows from its scope alone, and the run's
own writer stores the evidence tables (in the background, before any view output), so their
events and states are the run's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pyarrow as pa

from cpg_core.execute.errors import BuildError
from cpg_core.execute.run import Run
from cpg_core.execute.versions import known_version, remember
from cpg_core.store.content_hash import CanonicalTable, canonicalize
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.events import InputStored
from cpg_core.store.runs import DatasetState


def stored_views(store: DeltaStore, names: tuple[str, ...]) -> dict[str, pa.Table]:
    """The stored tables of views the scope reads but does not run."""
    tables: dict[str, pa.Table] = {}
    for name in names:
        info = store.info(name)
        if info is None:
            raise BuildError(
                f"view {name!r} is read by the selection but is not in the store {store.root}: "
                "build it first or select it with its upstream views"
            )
        table = store.read(name, info.version)
        tables[name] = remember(table, info.data_version) if info.data_version else table
    return tables


def table_inputs(run: Run, inputs: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
    """The input tables the run needs; evidence tables handed in are written to the store as well
    (by the run's background writer: `run.input_states` fills in as their writes commit).

    An evidence table not in `inputs` is read from the store (a build of views alone, e.g. a
    Dagster run that did not select the evidence assets); it must have been stored before.
    """
    plan, store, names = run.plan, run.store, run.scope.table_inputs
    evidence = set(run.scope.inputs_of_kind(plan, "evidence"))
    from_store: dict[str, pa.Table] = {}
    for name in sorted(evidence - set(inputs)):
        info = store.info(name)
        if info is not None and info.data_version is not None:
            from_store[name] = remember(store.read(name, info.version), info.data_version)
    missing = [n for n in names if n not in inputs and n not in from_store]
    if missing:
        raise BuildError(
            f"missing input table(s) {missing}: pass them in `inputs` (evidence tables: or "
            "build them into the store first)"
        )
    if run.ordered is not None:
        run.ordered.skip(sorted(from_store))  # read, not stored: they report nothing
    for name in sorted(evidence - set(from_store)):
        canonical = _canonical_input(inputs[name])
        run.writer.submit(name, _input_writer(run, name, canonical), wait=False)
    return {n: from_store[n] if n in from_store else inputs[n] for n in names}


def _input_writer(run: Run, name: str, canonical: CanonicalTable) -> Callable[[], None]:
    def write() -> None:
        """Write one evidence table (on the background writer); record its state and event."""
        fingerprint = f"evidence:{name}"
        stored = run.store.write(
            name,
            canonical,
            fingerprint=fingerprint,
            data_version=canonical.data_version,
            run_id=run.run_id,
        )
        run.input_states[name] = DatasetState(
            data_version=canonical.data_version,
            fingerprint=fingerprint,
            delta_version=stored.version,
        )
        run.events.emit(
            InputStored(
                task=name,
                rows=stored.rows,
                bytes=stored.bytes,
                data_version=stored.data_version,
                delta_version=stored.version,
                written=stored.run_id == run.run_id,
            )
        )

    return write


def _canonical_input(table: pa.Table) -> CanonicalTable:
    """An evidence table in canonical form. Tables with a remembered version (incremental
    extraction, the store) are canonical already: neither sorted nor hashed again, so an
    unchanged table costs nothing before the store sees its version is unchanged."""
    known = known_version(table)
    if known is None:
        canonical = canonicalize(table)
        remember(table, canonical.data_version)
        return canonical
    canonical = CanonicalTable(table)
    vars(canonical)["data_version"] = known  # the cached_property's slot: no re-hash
    return canonical
