"""`build`: run a plan (or a selection of it) into a Delta store through the Hamilton driver.

The public entry point of execution (the CLI's `cpg build` and Dagster call it). One run holds
the store's lock from start to end; each persisted view is written as soon as it is computed;
the incremental state and measured durations are recorded only after the whole run succeeded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa

from cpg_core.artifacts.envelope import artifact_id
from cpg_core.artifacts.from_plan import schedule_artifact, validation_artifact
from cpg_core.execute.codegen import fingerprint_input, task_input
from cpg_core.execute.config import SERIAL, ExecutionMode, ExecutorConfig
from cpg_core.execute.direct import ViewExecutionError
from cpg_core.execute.driver_cache import DriverEntry, driver_for
from cpg_core.execute.manifest import OutputVersion, RunManifest
from cpg_core.execute.pools import RemotePool, open_pool
from cpg_core.execute.priority import priority_ranks
from cpg_core.execute.runner import RunSettings, TaskFailedError
from cpg_core.execute.sources import InputTable
from cpg_core.execute.store_adapter import RunContext
from cpg_core.execute.task_spec import (
    folded_inputs,
    persisted_views,
    schedule_positions,
    view_task,
)
from cpg_core.execute.versions import (
    data_version,
    known_version,
    register_fingerprints,
    remember,
)
from cpg_core.execute.writer import BackgroundWriter, TableWriteError
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.pruning import PrunedPlan, prune
from cpg_core.store.content_hash import CanonicalTable, canonicalize
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.events import EventLog, EventPayload, InputStored, RunError, RunFinish, RunStart
from cpg_core.store.history import record_durations
from cpg_core.store.runs import DatasetState, commit_run

PLAN_OUTPUTS = ("plan_signature", "task_generations")


class BuildError(RuntimeError):
    """A build failed. `view` names the failing view (None if no view failed); `kept` lists the
    outputs this run wrote before failing (they stay; the incremental state is not committed)."""

    def __init__(
        self, message: str, *, view: str | None = None, kept: tuple[str, ...] = ()
    ) -> None:
        self.view = view
        self.kept = kept
        super().__init__(message)


@dataclass(frozen=True)
class RunResult:
    """A successful build: its manifest and the output tables (canonical order, store types)."""

    manifest: RunManifest
    tables: Mapping[str, pa.Table]

    @property
    def executed(self) -> tuple[str, ...]:
        """Views whose SQL ran (cache misses), in submission order."""
        return self.manifest.executed

    @property
    def cache_hits(self) -> tuple[str, ...]:
        return tuple(c.view for c in self.manifest.cache if c.hit)


@dataclass(frozen=True)
class Scope:
    """What one build runs and reads."""

    pruned: PrunedPlan
    views: list[str]
    from_store: list[str]
    table_inputs: list[str]


def scope_of(plan: ExecutionPlan, select: Sequence[str] | None, upstream: bool) -> Scope:
    if select is not None:
        inline = [v for v in select if v in plan.tasks and not plan.tasks[v].view.persisted]
        if inline:
            raise BuildError(f"cannot select inline view(s) {inline}: they are not stored")
    if select is None or upstream:
        pruned = prune(plan, outputs=select)
    else:  # exactly the selected views; every other input comes from the store
        pruned = prune(plan, outputs=select, changed_views=select)
    views = persisted_views(plan, pruned.active)
    if select is not None and not upstream:
        views = [v for v in views if v in set(select)]
    reads: set[str] = set()
    position = schedule_positions(plan)
    for view in views:
        reads |= set(folded_inputs(plan, view, position)[1])
    from_store = sorted(r for r in reads if r in plan.tasks and r not in views)
    tables = sorted(r for r in reads if r not in plan.tasks)
    return Scope(pruned, views, from_store, tables)


def _stored_inputs(store: DeltaStore, names: list[str]) -> dict[str, pa.Table]:
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


def _table_inputs(
    plan: ExecutionPlan,
    store: DeltaStore,
    inputs: Mapping[str, InputTable],
    names: list[str],
    run_id: str,
    events: EventLog,
    writer: BackgroundWriter,
) -> tuple[dict[str, pa.Table], dict[str, DatasetState]]:
    """The input tables the run needs; evidence tables are written to the store as well (by the
    background `writer`: the returned states fill in as their writes commit).

    An evidence table not in `inputs` is read from the store (a build of views alone, e.g. a
    Dagster run that did not select the evidence assets); it must have been stored before.
    """
    stored_evidence: dict[str, pa.Table] = {}
    for name in names:
        dataset = plan.datasets.get(name)
        if name not in inputs and dataset is not None and dataset.kind == "evidence":
            info = store.info(name)
            if info is not None and info.data_version is not None:
                stored_evidence[name] = remember(store.read(name, info.version), info.data_version)
    missing = [n for n in names if n not in inputs and n not in stored_evidence]
    if missing:
        raise BuildError(
            f"missing input table(s) {missing}: pass them in `inputs` (evidence tables: or "
            "build them into the store first)"
        )
    states: dict[str, DatasetState] = {}
    for name in names:
        dataset = plan.datasets.get(name)
        if name in stored_evidence or dataset is None or dataset.kind != "evidence":
            continue
        canonical = _canonical_input(inputs[name])
        writer.submit(
            name, partial(_store_input, store, name, canonical, run_id, events, states), wait=False
        )
    return {n: stored_evidence[n] if n in stored_evidence else inputs[n] for n in names}, states


def _store_input(
    store: DeltaStore,
    name: str,
    canonical: CanonicalTable,
    run_id: str,
    events: EventLog,
    states: dict[str, DatasetState],
) -> None:
    """Write one evidence table (on the background writer) and record its state and event."""
    fingerprint = f"evidence:{name}"
    stored = store.write(
        name, canonical, fingerprint=fingerprint, data_version=canonical.data_version, run_id=run_id
    )
    states[name] = DatasetState(
        data_version=canonical.data_version, fingerprint=fingerprint, delta_version=stored.version
    )
    events.emit(
        InputStored(
            task=name,
            rows=stored.rows,
            bytes=stored.bytes,
            data_version=stored.data_version,
            delta_version=stored.version,
            written=stored.run_id == run_id,
        )
    )


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


def _outside_views(error: BaseException) -> str:
    """A failure outside every view (the cache's database, the driver): say what raised it."""
    module = type(error).__module__
    kind = type(error).__name__ if module == "builtins" else f"{module}.{type(error).__name__}"
    return f"the build failed outside the views ({kind}): {error}"


def _pool_for(config: ExecutorConfig, plan: ExecutionPlan, views: list[str]) -> RemotePool | None:
    if config.mode is ExecutionMode.PARALLEL and config.kind == "processes":
        return open_pool("processes", config.max_tasks)
    if config.mode is ExecutionMode.REMOTE and any(
        plan.costs[v].seconds >= config.remote_threshold_s for v in views
    ):
        return open_pool(config.kind, config.max_tasks)
    return None


def build(
    plan: ExecutionPlan,
    *,
    store: Path | str,
    inputs: Mapping[str, InputTable],
    config: ExecutorConfig = SERIAL,
    select: Sequence[str] | None = None,
    upstream: bool = True,
    on_event: Callable[[EventPayload], None] | None = None,
    store_inputs: Sequence[str] = (),
) -> RunResult:
    """Build the plan's persisted views (or `select`ed ones: with their upstream closure, or
    alone when `upstream=False`, reading their inputs from the store) into `store`.
    `store_inputs` names evidence tables (in `inputs`) to store even when no view of the
    selection reads them (a Dagster run that selected only evidence assets).

    Raises `BuildError` (naming the failing view) when a view fails; outputs written before the
    failure stay in the store and the incremental state is not committed. `on_event` receives
    every run event (run/task start, finish, error) as it happens, from the worker that ran it.
    """
    register_fingerprints()
    started = time.perf_counter()
    run_id = uuid.uuid4().hex
    scope = scope_of(plan, select, upstream)
    if store_inputs:
        scope = dataclasses.replace(
            scope, table_inputs=sorted(set(scope.table_inputs) | set(store_inputs))
        )
    delta = DeltaStore(store)
    with delta.run_lock(f"cpg build {run_id}"):
        entry, warnings = driver_for(plan, delta)
        # closing the writer waits for it: no write outlives the run (and its store lock)
        with entry.lock, contextlib.closing(BackgroundWriter()) as writer:
            return _run(
                plan,
                scope,
                delta,
                entry,
                inputs,
                config,
                run_id,
                warnings,
                started,
                select,
                on_event,
                writer,
            )


def _run(
    plan: ExecutionPlan,
    scope: Scope,
    delta: DeltaStore,
    entry: DriverEntry,
    inputs: Mapping[str, InputTable],
    config: ExecutorConfig,
    run_id: str,
    warnings: list[str],
    started: float,
    select: Sequence[str] | None,
    on_event: Callable[[EventPayload], None] | None,
    writer: BackgroundWriter,
) -> RunResult:
    overrides = _stored_inputs(delta, scope.from_store)
    events = EventLog(delta, run_id, plan.signature, on_event)
    tables, input_states = _table_inputs(
        plan, delta, inputs, scope.table_inputs, run_id, events, writer
    )
    partitions = config.partitions()
    hamilton_inputs: dict[str, Any] = {"execution_plan": plan, **tables}
    for view in scope.views:
        hamilton_inputs[fingerprint_input(view)] = plan.tasks[view].fingerprint
        hamilton_inputs[task_input(view)] = view_task(
            plan, view, target_partitions=partitions, memory_limit_bytes=config.task_memory_bytes()
        )
    stored = {v: info for v in scope.views if (info := delta.info(v)) is not None}
    index = {i.data_version: (v, i.version) for v, i in stored.items() if i.data_version}
    entry.results.reset(index)

    context = RunContext(
        store=delta,
        run_id=run_id,
        events=events,
        writer=writer,
        record=(
            settings := RunSettings(
                config=config,
                ranks=priority_ranks(scope.pruned.schedule),
                costs={v: plan.costs[v].seconds for v in scope.views},
                module=entry.module,
            )
        ).record,
        fingerprints={v: plan.tasks[v].fingerprint for v in scope.views},
        stored=stored,
    )
    events.emit(
        RunStart(
            mode=config.mode.value, tasks=len(scope.views), executor=config.kind, run_id=run_id
        )
    )
    pool = _pool_for(config, plan, scope.views)
    settings.pool = pool
    entry.executor.settings = settings
    entry.adapter.context = context
    try:
        results = entry.driver.execute(
            [*PLAN_OUTPUTS, *scope.views], inputs=hamilton_inputs, overrides=overrides
        )
        writer.drain()
    except Exception as error:
        writer.close()  # what was queued before the failure is written (and kept)
        failed = error.task if isinstance(error, TaskFailedError) else None
        cause = error.error if isinstance(error, TaskFailedError) else error
        if isinstance(cause, TableWriteError):
            failed, cause = cause.table, cause.error
        elif writer.failure is not None and failed is None:
            failed, cause = writer.failure.table, writer.failure.error
        kept = tuple(sorted(n for n, (_, written) in context.written.items() if written))
        events.emit(
            RunError(duration_s=time.perf_counter() - started, error=str(cause), failed_task=failed)
        )
        events.flush()
        if isinstance(cause, ViewExecutionError):  # it names the view already: say it once
            what = f"view {failed!r} failed: {cause.where}: {cause.reason}"
        else:
            what = f"view {failed!r} failed: {cause}" if failed else _outside_views(cause)
        raise BuildError(
            f"{what}; kept {len(kept)} output(s) written before the failure"
            f"{': ' + ', '.join(kept) if kept else ''}; incremental state not committed",
            view=failed,
            kept=kept,
        ) from cause
    finally:
        entry.adapter.context = None
        entry.executor.settings = None
        if pool is not None:
            pool.close()
    if results["plan_signature"] != plan.signature:
        raise BuildError("the driver ran a different plan than it was given")

    datasets = dict(input_states)
    outputs = []
    for view in scope.views:
        stored, written = context.written[view]
        fingerprint = plan.tasks[view].fingerprint
        assert stored.data_version is not None
        datasets[view] = DatasetState(
            data_version=stored.data_version, fingerprint=fingerprint, delta_version=stored.version
        )
        outputs.append(
            OutputVersion(
                name=view,
                data_version=stored.data_version,
                delta_version=stored.version,
                fingerprint=fingerprint,
                rows=stored.rows,
                bytes=stored.bytes,
                written=written,
            )
        )
    commit_run(delta.root, run_id=run_id, plan_signature=plan.signature, datasets=datasets)
    if context.durations:
        record_durations(delta.root, context.durations)
    record = settings.record
    executed = tuple(
        n for n in record.submission_order if n in record.executed and n in context.fingerprints
    )
    duration = time.perf_counter() - started
    events.emit(
        RunFinish(
            duration_s=duration,
            tasks_run=len(executed),
            cache_hits=len(scope.views) - len(executed),
        )
    )
    events.flush()
    manifest = RunManifest(
        run_id=run_id,
        plan_signature=plan.signature,
        reduced_signature=scope.pruned.reduced_signature,
        schedule_artifact_id=artifact_id(schedule_artifact(plan, scope.pruned)),
        validation_artifact_id=artifact_id(validation_artifact(plan)),
        mode=config.mode.value,
        executor=config.kind,
        max_tasks=config.concurrency,
        selected=tuple(select) if select is not None else None,
        read_from_store=tuple(scope.from_store),
        submission_order=tuple(n for n in record.submission_order if n in context.fingerprints),
        routing=tuple(r for r in record.routing if r.task in context.fingerprints),
        outputs=tuple(outputs),
        inputs={
            name: data_version(table) for name, table in sorted({**tables, **overrides}.items())
        },
        cache=tuple(context.lineage[v] for v in sorted(context.lineage)),
        executed=executed,
        duration_s=duration,
        warnings=tuple(warnings),
    )
    return RunResult(manifest=manifest, tables={v: results[v] for v in scope.views})
