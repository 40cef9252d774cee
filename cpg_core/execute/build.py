"""`build`: run a plan (or a selection of it) into a Delta store through the Hamilton driver.

A build is three steps over one `Run` (`cpg_core.execute.run`): `prepare_run` (scope, id, event
log), then — holding the store's lock once — `execute_run` (read and store inputs, drive the
plan's Hamilton driver, wait for the writer) and `_commit` (incremental state, durations,
manifest). Each persisted view is written as soon as it is computed; the incremental state and
measured durations are recorded only after the whole run succeeded.

`build` is the entry point for callers that already hold the input tables (tests, benchmarks);
`cpg_core.pipeline.build_project` is the whole build of a project (compile, extract, sources).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from cpg_core.artifacts.contracts import BlockedView, DataTestReport, OutputVersion, RunManifest
from cpg_core.artifacts.envelope import artifact_id
from cpg_core.artifacts.from_plan import schedule_artifact, validation_artifact
from cpg_core.execute.cache import WalMetadataStore
from cpg_core.execute.codegen import fingerprint_input, task_input
from cpg_core.execute.driver_cache import DriverEntry, driver_for
from cpg_core.execute.errors import BuildError, ViewExecutionError
from cpg_core.execute.inputs import stored_views, table_inputs
from cpg_core.execute.outputs import StoredOutputs
from cpg_core.execute.partition_run import partitioned_state
from cpg_core.execute.pools import RemotePool, open_pool
from cpg_core.execute.run import OnRunEvent, Run, prepare_run
from cpg_core.execute.runner import TaskFailedError
from cpg_core.execute.scope import scope_of
from cpg_core.execute.sources import InputTable
from cpg_core.execute.stored_table import StoredTableReadError
from cpg_core.execute.task_spec import view_task
from cpg_core.execute.versions import data_version, register_fingerprints
from cpg_core.execute.writer import TableWriteError
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.settings import SERIAL, ExecutionMode, ExecutorConfig
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.events import RunError, RunFinish, RunStart
from cpg_core.store.history import record_durations
from cpg_core.store.runs import DatasetState, commit_run
from cpg_core.views.names import PLAN_INPUT, RUN_INPUT

PLAN_OUTPUTS = ("plan_signature", "task_generations")


@dataclass(frozen=True)
class RunResult:
    """A successful build: its manifest and the output tables (canonical order, store types),
    each read from the store when it is asked for (`StoredOutputs`): the run holds none of them
    once the build is over."""

    manifest: RunManifest
    tables: Mapping[str, pa.Table]

    @property
    def executed(self) -> tuple[str, ...]:
        """Views whose SQL ran (cache misses), in submission order."""
        return self.manifest.executed

    @property
    def cache_hits(self) -> tuple[str, ...]:
        return tuple(c.view for c in self.manifest.cache if c.hit)


def build(
    plan: ExecutionPlan,
    *,
    store: Path | str,
    inputs: Mapping[str, InputTable],
    config: ExecutorConfig = SERIAL,
    select: Sequence[str] | None = None,
    upstream: bool = True,
    on_event: OnRunEvent | None = None,
    store_inputs: Sequence[str] = (),
    tests: Collection[str] | None = None,
) -> RunResult:
    """Build the plan's persisted views (or `select`ed ones: with their upstream closure, or
    alone when `upstream=False`, reading their inputs from the store) into `store`.
    `store_inputs` names evidence tables (in `inputs`) to store even when no view of the
    selection reads them (a Dagster run that selected only evidence assets). `tests`: the data
    tests to run, by id (None: every test of the views it stores; empty: none).

    Raises `BuildError` (naming the failing view) when a view fails; outputs written before the
    failure stay in the store and the incremental state is not committed. `on_event` receives
    every run event as it happens, each table's in dependency order.
    """
    scope = scope_of(plan, select, upstream).storing(store_inputs)
    run = prepare_run(
        plan, DeltaStore(store), config=config, scope=scope, on_event=on_event, tests=tests
    )
    with run.store.run_lock(f"cpg build {run.run_id}"):
        return execute_run(run, inputs)


def execute_run(run: Run, inputs: Mapping[str, InputTable]) -> RunResult:
    """Run `run` (its caller holds the store lock): inputs, the driver, the writer, the commit."""
    register_fingerprints()
    entry, warnings = driver_for(run.plan, run.store)
    run.warnings.extend(warnings)
    # closing the writer waits for it: no write outlives the run (and its store lock)
    with entry.lock, contextlib.closing(run.writer):
        try:
            results, read = _drive(run, entry, inputs)
        except Exception as error:
            run.writer.close()  # what was queued before the failure is written (and kept)
            if run.tests is not None:
                run.tests.close()
            if run.ordered is not None:
                run.ordered.flush()
            _forget_unreadable(entry, error)
            raise _failure(run, error) from error
        finally:
            if run.pool is not None:
                run.pool.close()
    if results["plan_signature"] != run.plan.signature:
        raise BuildError("the driver ran a different plan than it was given")
    try:
        return _commit(run, read)
    finally:
        if run.tests is not None:
            run.tests.close()


def _drive(
    run: Run, entry: DriverEntry, inputs: Mapping[str, InputTable]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Read and store the inputs, run the views through the driver, wait for every write.
    Returns the plan nodes' results and the data versions of the tables the run read."""
    plan, scope = run.plan, run.scope
    # first: storing the inputs below already reports them (with this run's id)
    run.events.emit(
        RunStart(
            mode=run.config.mode.value,
            tasks=len(scope.views),
            executor=run.config.executor,
            run_id=run.run_id,
        )
    )
    overrides = stored_views(run.store, scope.from_store)
    tables = table_inputs(run, inputs)
    if run.tests is not None:
        run.tests.start({**tables, **overrides})
    hamilton_inputs: dict[str, Any] = {PLAN_INPUT: plan, RUN_INPUT: run, **tables}
    partitions = run.config.partitions()
    memory = run.config.task_memory_bytes()
    for view in scope.views:
        hamilton_inputs[fingerprint_input(view)] = plan.tasks[view].fingerprint
        hamilton_inputs[task_input(view)] = view_task(
            plan, view, target_partitions=partitions, memory_limit_bytes=memory
        )
    run.stored = {v: info for v in scope.views if (info := run.store.info(v)) is not None}
    entry.results.learn(
        {i.data_version: (v, i.version) for v, i in run.stored.items() if i.data_version},
        run.damaged,
    )
    run.pool = _pool_for(run)
    results = entry.driver.execute(
        [*PLAN_OUTPUTS, *scope.views], inputs=hamilton_inputs, overrides=overrides
    )
    run.writer.drain()
    read = {**tables, **overrides}
    return results, {name: data_version(table) for name, table in sorted(read.items())}


def _forget_unreadable(entry: DriverEntry, error: BaseException) -> None:
    """A cached table whose rows could not be read failed the run: drop its cache entries,
    so that the next build recomputes it instead of failing the same way."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, StoredTableReadError):
            metadata = entry.cache.metadata_store
            if isinstance(metadata, WalMetadataStore):
                metadata.forget_version(seen.version)
            return
        seen = seen.error if isinstance(seen, TaskFailedError) else seen.__cause__


def _pool_for(run: Run) -> RemotePool | None:
    config = run.config
    if config.mode is ExecutionMode.PARALLEL and config.executor == "processes":
        return open_pool("processes", config.max_tasks)
    if config.mode is ExecutionMode.REMOTE and any(
        cost >= config.remote_threshold_s for cost in run.costs.values()
    ):
        return open_pool(config.executor, config.max_tasks)
    return None


def _failure(run: Run, error: Exception) -> BuildError:
    """The `BuildError` of a failed run (after its events are flushed): the failing view, why,
    and what was kept."""
    failed = error.task if isinstance(error, TaskFailedError) else None
    cause: BaseException = error.error if isinstance(error, TaskFailedError) else error
    if isinstance(cause, TableWriteError):
        failed, cause = cause.table, cause.error
    elif run.writer.failure is not None and failed is None:
        failed, cause = run.writer.failure.table, run.writer.failure.error
    kept = run.kept()
    duration = time.perf_counter() - run.started
    run.events.emit(RunError(duration_s=duration, error=str(cause), failed_task=failed))
    run.events.flush()
    if isinstance(cause, ViewExecutionError):  # it names the view already: say it once
        what = f"view {failed!r} failed: {cause.where}: {cause.reason}"
    else:
        what = f"view {failed!r} failed: {cause}" if failed else _outside_views(cause)
    return BuildError(
        f"{what}; kept {len(kept)} output(s) written before the failure"
        f"{': ' + ', '.join(kept) if kept else ''}; incremental state not committed",
        view=failed,
        kept=kept,
    )


def _outside_views(error: BaseException) -> str:
    """A failure outside every view (the cache's database, the driver): say what raised it."""
    module = type(error).__module__
    kind = type(error).__name__ if module == "builtins" else f"{module}.{type(error).__name__}"
    return f"the build failed outside the views ({kind}): {error}"


def _commit(run: Run, read: Mapping[str, str]) -> RunResult:
    """The run succeeded: record the incremental state and durations, flush the events, and
    return the manifest with the output tables (`read`: the data versions of its inputs)."""
    report = run.tests.finish() if run.tests is not None else None
    datasets = dict(run.input_states)
    outputs = []
    built = [v for v in run.scope.views if v not in run.blocked]
    for view in built:
        stored, written = run.written[view]
        fingerprint = run.fingerprints[view]
        assert stored.data_version is not None
        datasets[view] = partitioned_state(
            DatasetState(
                data_version=stored.data_version,
                fingerprint=fingerprint,
                delta_version=stored.version,
            ),
            run.plan.tasks[view].partitioning,
            run.lineage[view].upstream_versions,
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
                partitions_recomputed=run.partitions.counts.get(view),
            )
        )
    state = commit_run(
        run.store.root, run_id=run.run_id, plan_signature=run.plan.signature, datasets=datasets
    )
    run.partitions.commit(state)
    if run.durations:
        record_durations(run.store.root, run.durations)
    record = run.record
    executed = tuple(n for n in record.submission_order if n in record.executed and n in run.costs)
    duration = time.perf_counter() - run.started
    run.events.emit(
        RunFinish(
            duration_s=duration,
            tasks_run=len(executed),
            cache_hits=len(built) - len(executed),
        )
    )
    run.events.flush()
    manifest = _manifest(run, tuple(outputs), executed, read, duration, report)
    tables = StoredOutputs(run.store, {v: run.written[v][0] for v in built})
    return RunResult(manifest=manifest, tables=tables)


def _manifest(
    run: Run,
    outputs: tuple[OutputVersion, ...],
    executed: tuple[str, ...],
    read: Mapping[str, str],
    duration: float,
    report: DataTestReport | None,
) -> RunManifest:
    plan, scope, record, config = run.plan, run.scope, run.record, run.config
    return RunManifest(
        run_id=run.run_id,
        plan_signature=plan.signature,
        reduced_signature=scope.pruned.reduced_signature,
        schedule_artifact_id=artifact_id(schedule_artifact(plan, scope.pruned)),
        validation_artifact_id=artifact_id(validation_artifact(plan)),
        mode=config.mode.value,
        executor=config.executor,
        max_tasks=config.concurrency,
        selected=scope.selected,
        read_from_store=scope.from_store,
        submission_order=tuple(n for n in record.submission_order if n in run.costs),
        routing=tuple(r for r in record.routing if r.task in run.costs),
        outputs=outputs,
        inputs=dict(read),
        cache=tuple(run.lineage[v] for v in sorted(run.lineage)),
        executed=executed,
        duration_s=duration,
        warnings=tuple(run.warnings),
        data_tests=report,
        blocked=tuple(
            BlockedView(view=v, blocked_by=run.blocked[v]) for v in scope.views if v in run.blocked
        ),
    )
