"""The plan-aware Hamilton graph executor: a ready queue in plan priority order.

Why our own `GraphExecutor`: Hamilton's task-based executor pops a FIFO deque filled in set order
(changes with PYTHONHASHSEED), busy-spins while tasks run, and its lifecycle hooks cannot reorder
submission (docs/dependencies.md). This executor keeps Hamilton's node semantics — every node goes
through `graph_functions.execute_lifecycle_for_node`, so the cache adapter runs as usual — and
owns only *which ready node starts next, where, and what the run is told*. It blocks on futures
(no spin).

The executor is built once per driver and holds nothing of a run: each `Driver.execute` passes
the run as the input `RUN_INPUT` (no node reads it), and the executor hands it to every node it
starts — its settings (mode, priorities, costs, pool), its record, and its view hooks.

Memory: a node's value is held only while a node still to run reads it. A view's output is the
run's once `view_finished` has it (the run stores it), so it is released after its last reader
like any intermediate value, and `execute` returns the plan nodes' values only: a build holds
the tables still to be read, not every table it made.

Internal Hamilton API relied on (pinned by tests/execute/test_hamilton_pins.py, hamilton 1.90):
`driver.GraphExecutor` (abstract `execute(fg, final_vars, overrides, inputs, run_id)` and
`validate`), the `Driver.graph_executor` attribute that `Driver.execute` calls, and
`execution.graph_functions.execute_lifecycle_for_node(node, adapter, run_id, task_id, **kwargs)`.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from hamilton import node as hamilton_node
from hamilton.caching.adapter import HamiltonCacheAdapter
from hamilton.driver import GraphExecutor
from hamilton.execution import graph_functions
from hamilton.graph import FunctionGraph
from hamilton.lifecycle.base import LifecycleAdapterSet

from cpg_core.artifacts.contracts import RoutingDecision
from cpg_core.execute.codegen import GeneratedModule
from cpg_core.execute.pools import RemotePool
from cpg_core.settings import ExecutionMode, ExecutorConfig
from cpg_core.views.names import RUN_INPUT


class _Blocked:
    """The value of a view node that was not run (`ExecutedRun.view_blocked`)."""

    def __repr__(self) -> str:
        return "BLOCKED"


BLOCKED = _Blocked()


class TaskFailedError(RuntimeError):
    """A node raised; `task` names it and `error` is the original exception."""

    def __init__(self, task: str, error: BaseException) -> None:
        self.task = task
        self.error = error
        super().__init__(f"task {task!r} failed: {error}")


@dataclass
class RunRecord:
    """What the executor did in one run (filled from worker threads; appends are atomic)."""

    submission_order: list[str] = field(default_factory=list)
    routing: list[RoutingDecision] = field(default_factory=list)
    executed: dict[str, float] = field(default_factory=dict)  # node → seconds in its callable
    executor_of: dict[str, str] = field(default_factory=dict)
    scheduling_s: float = 0.0


class ExecutedRun(Protocol):
    """What the executor needs of a run (`cpg_core.execute.run.Run` is the real one)."""

    config: ExecutorConfig
    ranks: Mapping[str, int]
    costs: Mapping[str, float]  # the views of the run → planned seconds
    record: RunRecord
    pool: RemotePool | None

    def view_blocked(self, name: str, kwargs: Mapping[str, Any]) -> bool: ...

    def view_started(self, name: str, kwargs: Mapping[str, Any], executor: str) -> None: ...

    def view_inputs(self, name: str, kwargs: dict[str, Any]) -> dict[str, Any]: ...

    def view_finished(self, name: str, result: Any, cache_key: str | None) -> None: ...

    def view_failed(self, name: str, error: BaseException) -> None: ...


def _execute_node(
    node_: hamilton_node.Node, adapter: LifecycleAdapterSet, run_id: str, kwargs: dict[str, Any]
) -> Any:
    # Positional on purpose: the parameters are named `__node_`, `__adapter`, ... and a keyword
    # call from inside a class body would be name-mangled.
    # task_id is annotated `str`, but Hamilton itself passes None outside task-based execution,
    # which is what tells the cache adapter this is a standalone node.
    no_task = cast("str", None)
    return graph_functions.execute_lifecycle_for_node(node_, adapter, run_id, no_task, **kwargs)


class PlanGraphExecutor(GraphExecutor):
    """Runs the nodes Hamilton needs for `final_vars`, ready ones in plan priority order."""

    def __init__(
        self,
        adapter: LifecycleAdapterSet,
        module: GeneratedModule,
        cache: HamiltonCacheAdapter | None = None,
    ) -> None:
        self.adapter = adapter
        self.module = module
        self.cache = cache

    def validate(self, nodes_to_execute: list[hamilton_node.Node]) -> None:
        for node_ in nodes_to_execute:
            if node_.node_role in (hamilton_node.NodeType.EXPAND, hamilton_node.NodeType.COLLECT):
                raise ValueError(
                    f"node {node_.name!r}: Parallelizable/Collect is not supported by the plan "
                    "executor (extraction runs on its own driver)"
                )

    # ---------------------------------------------------------------- routing

    @staticmethod
    def _route(name: str, run: ExecutedRun) -> tuple[str, str, RemotePool | None]:
        config = run.config
        if config.mode is ExecutionMode.SERIAL:
            return "main", "serial mode", None
        if name not in run.costs:
            return "main", "plan node (trivial: run by the scheduler)", None
        if config.mode is ExecutionMode.PARALLEL:
            if config.executor == "processes":
                return "processes", "parallel mode, process executor", run.pool
            return "threads", "parallel mode, thread executor", None
        cost = run.costs[name]
        if cost >= config.remote_threshold_s:
            reason = f"cost {cost:.3g} s >= threshold {config.remote_threshold_s:g} s"
            return config.executor, reason, run.pool
        reason = f"cost {cost:.3g} s < threshold {config.remote_threshold_s:g} s"
        return "threads", reason, None

    def _runnable(
        self, node_: hamilton_node.Node, run: ExecutedRun, pool: RemotePool | None
    ) -> hamilton_node.Node:
        """A copy of the node whose callable records that it ran (a cache miss) and may run
        out of process. Hamilton's cache adapter calls it only on a miss; a view's inputs for
        the call come from the run (`view_inputs`: e.g. a partial partition rebuild)."""
        name = node_.name
        original: Callable[..., Any] = node_.callable
        module = self.module
        record = run.record
        is_view = name in run.costs

        def call(**kwargs: Any) -> Any:
            if is_view:
                kwargs = run.view_inputs(name, kwargs)
            start = time.perf_counter()
            result = pool.call(module, name, kwargs) if pool is not None else original(**kwargs)
            record.executed[name] = time.perf_counter() - start
            return result

        return node_.copy_with(callabl=call)

    def _cache_key(self, hamilton_run: str, name: str) -> str | None:
        if self.cache is None:
            return None
        key = self.cache.cache_keys.get(hamilton_run, {}).get(name)
        return key if isinstance(key, str) else None

    def _run_one(
        self, node_: hamilton_node.Node, kwargs: dict[str, Any], hamilton_run: str, run: ExecutedRun
    ) -> Any:
        """Run one node through Hamilton's lifecycle; tell the run about views. A view the
        run blocks (a failed test upstream) is not run: its value is `BLOCKED`."""
        name = node_.name
        if name in run.costs and run.view_blocked(name, kwargs):
            return BLOCKED
        executor, reason, pool = self._route(name, run)
        run.record.routing.append(RoutingDecision(task=name, executor=executor, reason=reason))
        run.record.executor_of[name] = executor
        is_view = name in run.costs
        try:
            if is_view:
                run.view_started(name, kwargs, executor)
            runnable = self._runnable(node_, run, pool)
            result = _execute_node(runnable, self.adapter, hamilton_run, kwargs)
        except Exception as error:
            if is_view:
                run.view_failed(name, error)
            raise TaskFailedError(name, error) from error
        if is_view:
            run.view_finished(name, result, self._cache_key(hamilton_run, name))
        return result

    # ---------------------------------------------------------------- the ready queue

    def execute(
        self,
        fg: FunctionGraph,
        final_vars: list[Any],
        overrides: dict[str, Any],
        inputs: dict[str, Any],
        run_id: str,
    ) -> dict[str, Any]:
        run = inputs.get(RUN_INPUT)
        if run is None:
            raise RuntimeError(f"PlanGraphExecutor needs the run as the input {RUN_INPUT!r}")
        started = time.perf_counter()
        inputs = graph_functions.combine_config_and_inputs(fg.config, inputs)
        nodes, _ = fg.get_upstream_nodes(
            final_vars, runtime_inputs=inputs, runtime_overrides=overrides
        )
        values: dict[str, Any] = {}
        pending: dict[str, hamilton_node.Node] = {}
        for node_ in nodes:
            if node_.name in overrides:
                values[node_.name] = overrides[node_.name]
            elif node_.user_defined:
                if node_.name in inputs:
                    values[node_.name] = inputs[node_.name]
            else:
                pending[node_.name] = node_
        waiting: dict[str, int] = {}
        readers: dict[str, list[str]] = {}
        for name, node_ in pending.items():
            deps = [d.name for d in node_.dependencies if d.name in pending]
            waiting[name] = len(deps)
            for dep in node_.dependencies:
                readers.setdefault(dep.name, []).append(name)
        unread = {name: len(r) for name, r in readers.items()}
        # A view's output belongs to the run once `view_finished` has it (queued for the store,
        # handed to its tests): it is held here only until its last reader has run.
        keep = {n for n in final_vars if n not in run.costs}
        rank = run.ranks
        ready = [(rank.get(n, -1), n) for n, count in waiting.items() if count == 0]
        heapq.heapify(ready)

        def complete(name: str, result: Any) -> None:
            if name in keep or readers.get(name):
                values[name] = result
            for reader in readers.get(name, ()):
                waiting[reader] -= 1
                if waiting[reader] == 0:
                    heapq.heappush(ready, (rank.get(reader, -1), reader))
            for dep in pending[name].dependencies:  # free inputs nobody needs any more
                unread[dep.name] -= 1
                if unread[dep.name] == 0 and dep.name not in keep:
                    values.pop(dep.name, None)

        def kwargs_of(name: str) -> dict[str, Any]:
            return {d.name: values[d.name] for d in pending[name].dependencies if d.name in values}

        record = run.record
        if run.config.concurrency == 1:
            while ready:
                _, name = heapq.heappop(ready)
                record.submission_order.append(name)
                complete(name, self._run_one(pending[name], kwargs_of(name), run_id, run))
        else:
            self._run_concurrently(ready, pending, kwargs_of, complete, run_id, run)
        record.scheduling_s = time.perf_counter() - started
        return {n: values[n] for n in keep if n in values and values[n] is not BLOCKED}

    def _run_concurrently(
        self,
        ready: list[tuple[int, str]],
        pending: Mapping[str, hamilton_node.Node],
        kwargs_of: Callable[[str], dict[str, Any]],
        complete: Callable[[str, Any], None],
        run_id: str,
        run: ExecutedRun,
    ) -> None:
        """Keep up to `max_tasks` nodes in flight; after a failure start nothing new, let the
        running ones finish (their outputs are kept), then raise the first failure."""
        record = run.record
        in_flight: dict[Future[Any], str] = {}
        failure: TaskFailedError | None = None
        lock = threading.Lock()
        with ThreadPoolExecutor(
            max_workers=run.config.concurrency, thread_name_prefix="cpg-task"
        ) as pool:
            while ready or in_flight:
                while ready and failure is None and len(in_flight) < run.config.concurrency:
                    _, name = heapq.heappop(ready)
                    with lock:
                        record.submission_order.append(name)
                    if name not in run.costs:  # a plan node: trivial, never holds a view's slot
                        try:
                            complete(
                                name, self._run_one(pending[name], kwargs_of(name), run_id, run)
                            )
                        except TaskFailedError as error:
                            failure = failure or error
                        continue
                    future = pool.submit(self._run_one, pending[name], kwargs_of(name), run_id, run)
                    in_flight[future] = name
                if not in_flight:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: in_flight[f]):
                    name = in_flight.pop(future)
                    try:
                        result = future.result()
                    except TaskFailedError as error:
                        failure = failure or error
                        continue
                    if failure is None:
                        complete(name, result)
        if failure is not None:
            raise failure
