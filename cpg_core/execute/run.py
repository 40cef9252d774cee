"""One build's state, from prepare to commit: the `Run`.

Why one object: everything a build learns while it runs — its id and scope, what the executor
submitted and where, which outputs were written, their cache lineage and durations — lives here,
created once per build by `prepare_run` and passed down (pipeline → `execute_run` → the plan
executor, which hands it to every node it starts). Cached objects (drivers, modules, the
executor) are never told about a run by mutation, so two builds never share state by accident.

The executor calls `view_started` / `view_finished` / `view_failed` around each view node:
`view_finished` hands the output to the run's background writer (the next view computes while it
is stored) and emits the view's finish event once its table is committed. Events reach the
caller's `on_event` with every table's event in the scope's dependency order
(`OrderedEvents`), whatever order views finish in: an unchanged view needs no write and would
otherwise report before a changed upstream whose write is still running.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from cpg_core.artifacts.contracts import CacheLineage
from cpg_core.checks.evaluate import Limits
from cpg_core.execute.build_tests import BuildTests
from cpg_core.execute.in_order import InOrder
from cpg_core.execute.partition_run import PartitionRun
from cpg_core.execute.pools import RemotePool
from cpg_core.execute.runner import BLOCKED, RunRecord
from cpg_core.execute.scope import Scope, scope_of
from cpg_core.execute.sources import SourceTable
from cpg_core.execute.stored_table import StoredTable
from cpg_core.execute.versions import data_version
from cpg_core.execute.writer import BackgroundWriter
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.schedule import priority_ranks, serial_ranks
from cpg_core.settings import SERIAL, ExecutorConfig
from cpg_core.store.content_hash import CanonicalTable
from cpg_core.store.delta_store import DeltaStore, StoredVersion
from cpg_core.store.events import (
    DataTestFinish,
    EventLog,
    EventPayload,
    InputStored,
    TaskBlocked,
    TaskError,
    TaskFinish,
    TaskStart,
)
from cpg_core.store.runs import DatasetState

OnRunEvent = Callable[[EventPayload], None]


class OrderedEvents:
    """Forwards run events to `target`, each table's (`InputStored`, `TaskFinish`,
    `TaskBlocked`) in `order`, and each `DataTestFinish` once the tables it checks and read
    are forwarded (a check result comes after its asset). Other events pass at once.
    Thread-safe: events come from task threads, the writer and the tester."""

    def __init__(self, order: Sequence[str], target: OnRunEvent) -> None:
        self._order: InOrder[EventPayload] = InOrder(order)
        self._target = target
        self._lock = threading.Lock()
        self._tests: list[DataTestFinish] = []
        self._done: set[str] = set()  # tables whose event was forwarded, or that have none

    def __call__(self, event: EventPayload) -> None:
        with self._lock:
            if isinstance(event, InputStored | TaskFinish | TaskBlocked) and (
                event.task in self._order
            ):
                self._forward(self._order.add(event.task, event))
            elif isinstance(event, DataTestFinish):
                self._tests.append(event)
                self._forward([])
            else:
                self._forward([event])

    def _forward(self, ready: Sequence[EventPayload]) -> None:
        self._release_tests()
        for item in ready:
            self._target(item)
            if isinstance(item, InputStored | TaskFinish | TaskBlocked):
                self._done.add(item.task)
                self._release_tests()

    def _release_tests(self) -> None:
        """Forward the held test events whose tables have all been forwarded (or are not in
        the order: read from the store, sources)."""
        held = []
        for test in self._tests:
            tables = [test.task, *test.reads] if test.task is not None else [*test.reads]
            if all(name in self._done or name not in self._order for name in tables):
                self._target(test)
            else:
                held.append(test)
        self._tests = held

    def skip(self, names: Sequence[str]) -> None:
        """Tables of the order that will report nothing (read from the store, not written)."""
        with self._lock:
            self._done.update(names)
            self._forward(self._order.skip(names))

    def flush(self) -> None:
        """The run ended: forward whatever is still held, in order."""
        with self._lock:
            self._forward(self._order.rest())
            for test in self._tests:
                self._target(test)
            self._tests = []


@dataclass
class Run:
    """One build: what it runs (scope), where (store, config), and everything it records."""

    plan: ExecutionPlan
    scope: Scope
    store: DeltaStore
    config: ExecutorConfig
    run_id: str
    events: EventLog
    ordered: OrderedEvents | None
    started: float
    ranks: Mapping[str, int]
    costs: Mapping[str, float]  # views of the run → planned seconds
    fingerprints: Mapping[str, str]  # views of the run → fingerprint
    partitions: PartitionRun  # partitioned tables: what to recompute, maps to save
    record: RunRecord = field(default_factory=RunRecord)
    writer: BackgroundWriter = field(default_factory=BackgroundWriter)
    pool: RemotePool | None = None
    tests: BuildTests | None = None
    blocked: dict[str, tuple[str, ...]] = field(default_factory=dict)  # view → failed tests
    stored: dict[str, StoredVersion] = field(default_factory=dict)  # latest at run start
    damaged: set[str] = field(default_factory=set)  # stored tables whose files failed a check
    input_states: dict[str, DatasetState] = field(default_factory=dict)
    written: dict[str, tuple[StoredVersion, bool]] = field(default_factory=dict)
    lineage: dict[str, CacheLineage] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _starts: dict[str, float] = field(default_factory=dict)
    _upstream: dict[str, dict[str, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- the executor's view hooks (called from task threads) ---------------------------------

    def view_blocked(self, name: str, kwargs: Mapping[str, Any]) -> bool:
        """Before a view starts: wait for the gating tests of the views of this run it reads.
        When one did not pass, or a view it reads was blocked, the view is not run: reported
        (`TaskBlocked`), its own tests made errors, and True returned."""
        if self.tests is None:
            return False
        upstream = [u for u in kwargs if u in self.fingerprints]
        with self._lock:
            inherited = {i for u in upstream if u in self.blocked for i in self.blocked[u]}
            readers_of = [u for u in upstream if kwargs[u] is not BLOCKED]
        failed = self.tests.blocked_by(readers_of)
        if not inherited and not failed:
            return False
        by = tuple(sorted(inherited | set(failed)))
        if self.tests.stopped is not None:
            reason = f"not run: {self.tests.stopped}"
        else:
            reason = "not run: data test(s) upstream did not pass: " + ", ".join(by)
        with self._lock:
            self.blocked[name] = by
        self.events.emit(TaskBlocked(task=name, blocked_by=by, reason=reason))
        self.tests.not_stored(name, f"view {name} was {reason}")
        return True

    def view_started(self, name: str, kwargs: Mapping[str, Any], executor: str) -> None:
        """A view node starts: nothing new starts after a failed write."""
        self.writer.check()  # an earlier output could not be stored: start nothing new
        upstream = {
            table: data_version(value)
            for table, value in sorted(kwargs.items())
            if isinstance(value, pa.Table | SourceTable | StoredTable)
        }
        with self._lock:
            self._starts[name] = time.perf_counter()
            self._upstream[name] = upstream
        self.partitions.saw_inputs(name, kwargs)
        self.events.emit(TaskStart(task=name, executor=executor))

    def view_inputs(self, name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        """A view is about to run (a cache miss): its inputs for this call — a partitioned
        view's task made partial when only some partitions need recomputing."""
        return self.partitions.prepare(name, kwargs, self._latest(name))

    def _latest(self, name: str) -> StoredVersion | None:
        """The stored version of `name` at run start, unless its files failed a check (then
        its rows are neither kept nor taken as already stored)."""
        return None if name in self.damaged else self.stored.get(name)

    def view_failed(self, name: str, error: BaseException) -> None:
        if self.tests is not None:
            self.tests.stop(f"view {name} failed")
        self.events.emit(
            TaskError(
                task=name,
                duration_s=self._elapsed(name),
                error=str(error),
                error_type=type(error).__name__,
                executor=self.record.executor_of.get(name),
            )
        )

    def view_finished(self, name: str, result: Any, cache_key: str | None) -> None:
        """Record the view's cache lineage and duration; store its output (in the background)
        unless the store already holds these rows; report it once it is in the store. A cache
        hit (`StoredTable`) is read only when the store's latest version holds other rows."""
        assert isinstance(result, pa.Table | StoredTable)
        duration = self._elapsed(name)
        fingerprint = self.fingerprints[name]
        version = data_version(result)
        previous = self._latest(name)
        unchanged = previous is not None and previous.data_version == version
        if isinstance(result, StoredTable) and not unchanged:
            result = result.table()  # an older version's rows, stored again below
        if self.tests is not None:  # unchanged rows: the tests read the store's
            self.tests.stored(name, result if isinstance(result, pa.Table) else None, version)
        hit = name not in self.record.executed
        recomputed = self.partitions.recomputed(name, result, executed=not hit)
        with self._lock:
            self.lineage[name] = CacheLineage(
                view=name,
                cache_key=cache_key,
                hit=hit,
                fingerprint=fingerprint,
                upstream_versions=self._upstream.pop(name, {}),
            )
            if not hit:
                self.durations[fingerprint] = self.record.executed[name]

        def finish(stored: StoredVersion, written: bool) -> None:
            with self._lock:
                self.written[name] = (stored, written)
            self.events.emit(
                TaskFinish(
                    task=name,
                    duration_s=duration,
                    rows=stored.rows,
                    bytes=stored.bytes,
                    data_version=version,
                    executor=self.record.executor_of.get(name),
                    cache_hit=hit,
                    delta_version=stored.version,
                    written=written,
                    partitions_recomputed=recomputed,
                )
            )

        if unchanged:
            assert previous is not None
            finish(previous, False)  # unchanged rows (e.g. a cache hit): no Delta work
            return
        assert isinstance(result, pa.Table)

        def write() -> None:
            stored = self._store(name, result, fingerprint, version)
            finish(stored, previous is None or previous.version != stored.version)

        self.writer.submit(name, write)

    def _store(self, name: str, result: pa.Table, fingerprint: str, version: str) -> StoredVersion:
        """Write a view's output: a partitioned view's changed partitions, any other whole."""
        repair = name in self.damaged
        if self.partitions.partitioning(name) is not None:
            return self.partitions.store_output(
                name, result, fingerprint=fingerprint, run_id=self.run_id, repair=repair
            ).stored
        return self.store.write(
            name,
            CanonicalTable(result),
            fingerprint=fingerprint,
            data_version=version,
            run_id=self.run_id,
            repair=repair,
        )

    def _elapsed(self, name: str) -> float:
        with self._lock:
            start = self._starts.pop(name, None)
        return time.perf_counter() - start if start is not None else 0.0

    # -- derived ----------------------------------------------------------------------------

    def kept(self) -> tuple[str, ...]:
        """Outputs this run wrote (a failed run keeps them)."""
        with self._lock:
            return tuple(sorted(n for n, (_, written) in self.written.items() if written))


def prepare_run(
    plan: ExecutionPlan,
    store: DeltaStore,
    *,
    config: ExecutorConfig = SERIAL,
    select: Sequence[str] | None = None,
    upstream: bool = True,
    scope: Scope | None = None,
    on_event: OnRunEvent | None = None,
    tests: Collection[str] | None = None,
) -> Run:
    """A new run of `plan` into `store`: its id, its scope (computed here unless given) and its
    event log. `tests`: the ids of the data tests to run (None: every test of the views it
    stores). Nothing is read or written yet: that happens under the store lock."""
    scope = scope or scope_of(plan, select, upstream)
    run_id = uuid.uuid4().hex
    ordered = None
    if on_event is not None:
        evidence = scope.inputs_of_kind(plan, "evidence")
        ordered = OrderedEvents([*evidence, *scope.views], on_event)
    events = EventLog(store, run_id, plan.signature, ordered)
    return Run(
        plan=plan,
        scope=scope,
        store=store,
        config=config,
        run_id=run_id,
        events=events,
        ordered=ordered,
        tests=BuildTests(
            plan,
            scope.views,
            store.root,
            events.emit,
            tests,
            limits=Limits(memory_limit_bytes=config.task_memory_bytes()),
        ),
        started=time.perf_counter(),
        ranks=(serial_ranks if config.concurrency == 1 else priority_ranks)(scope.pruned.schedule),
        costs={v: plan.costs[v].seconds for v in scope.views},
        fingerprints={v: plan.tasks[v].fingerprint for v in scope.views},
        partitions=PartitionRun(plan, store),
    )
