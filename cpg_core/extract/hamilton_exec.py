"""Run the extraction flow (`hamilton_flow`) on Hamilton's dynamic (task-based) execution.

Executors: units run synchronously in this process for ``workers=1``; for ``workers > 1`` they run
in a **spawn** process pool (docs/dependencies.md#hamilton-multiprocessing: Hamilton's stock `MultiProcessingExecutor` forks, and a fork
after DataFusion ran deadlocks the child). Workers hand their tables back as Arrow IPC files that
this process memory-maps, as `extract_units` does, not as pickles.

Hamilton internals relied on (pinned by tests/extract/test_hamilton_extract_pins.py): the
`TaskExecutor` / `TaskFuture` contract, `base_execute_task(task)` as the function a pool runs, and
the stock run loop polling `get_state()` of every in-flight future once per iteration. The stock
loop spins while tasks run; our futures block in `get_state()` (GIL released) once a whole loop
iteration went by without a submission, so the parent does not burn a core the workers need.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from hamilton.execution import executors
from hamilton.execution.grouping import NodeGroupPurpose, TaskImplementation
from hamilton.execution.state import TaskState
from hamilton.lifecycle.api import TaskGroupingHook, TaskReturnHook
from hamilton.node import Node

from cpg_core.extract import hamilton_flow
from cpg_core.extract.hamilton_flow import Evidence, Selection, UnitEvidence
from cpg_core.extract.model import (
    DEFAULT_UNIT_BYTES,
    DEFAULT_UNIT_MAX_FILES,
    ScanOptions,
    ScanResult,
)
from cpg_core.extract.progress import ExtractProgress, ProgressFn
from cpg_core.extract.tables import with_scan_problems

if TYPE_CHECKING:
    from hamilton import driver

OUTPUT = "evidence"
SCAN_NODE = "scan_result"
UNIT_NODE = "unit_evidence"
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """Extraction workers when the caller names none: one per core this process may use (at
    most 4, each holds one unit's evidence). Extraction runs before any view, so it may take
    every core whatever the views' concurrency; a change that fits one unit stays in process."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, MAX_DEFAULT_WORKERS))


class SpawnProcessExecutor(executors.TaskExecutor):
    """Hamilton task executor over a spawn-context process pool (never fork).

    `max_wait` bounds how long one `get_state()` poll may block; a finishing task wakes it at once.
    """

    def __init__(self, workers: int, *, max_wait: float = 0.5) -> None:
        self.workers = max(1, workers)
        self.max_wait = max_wait
        self._pool: ProcessPoolExecutor | None = None
        self._active: list[Future[Any]] = []
        # futures polled since the last submission: a second poll means a full loop went idle
        self._polled: set[int] = set()

    def init(self) -> None:
        if self._pool is not None:
            raise RuntimeError("SpawnProcessExecutor is already initialized")
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
        )

    def finalize(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._active.clear()
        self._polled.clear()

    def submit_task(self, task: TaskImplementation) -> executors.TaskFuture:
        if self._pool is None:
            raise RuntimeError("SpawnProcessExecutor.init() was not called")
        future = self._pool.submit(executors.base_execute_task, task)
        self._active.append(future)
        self._polled.clear()
        return _PoolTaskFuture(future, self)

    def can_submit_task(self) -> bool:
        self._active = [f for f in self._active if not f.done()]
        return len(self._active) < self.workers

    def await_progress(self, future: Future[Any]) -> None:
        """Block until some task finishes, unless the run loop may still have tasks to submit."""
        if future.done():
            return
        running = [f for f in self._active if not f.done()]
        if len(running) < self.workers and id(future) not in self._polled:
            self._polled.add(id(future))  # a free slot: let the loop try to submit first
            return
        self._polled.clear()
        wait(running or [future], timeout=self.max_wait, return_when=FIRST_COMPLETED)


class _PoolTaskFuture:
    """`executors.TaskFuture` over a process-pool future that waits instead of spinning."""

    def __init__(self, future: Future[Any], executor: SpawnProcessExecutor) -> None:
        self._future = future
        self._executor = executor

    def get_state(self) -> TaskState:
        self._executor.await_progress(self._future)
        if not self._future.done():
            return TaskState.RUNNING
        return TaskState.FAILED if self._future.exception() is not None else TaskState.SUCCESSFUL

    def get_result(self) -> Any:
        return self._future.result() if self._future.done() else None


class _ProgressHook(TaskGroupingHook, TaskReturnHook):
    """Reports units as they finish; runs in the driver's process (task return, expansion).

    The hook travels with every task into the workers (it is part of the task's adapter), where it
    must be inert: pickling drops the callback.
    """

    def __init__(self, report: ProgressFn | None) -> None:
        self._report = report
        self.total = 0
        self.done = 0

    def __reduce__(self) -> tuple[type[_ProgressHook], tuple[None]]:
        return (_ProgressHook, (None,))

    def run_after_task_grouping(self, *, run_id: str, task_ids: list[str], **kwargs: Any) -> None:
        return None

    def run_after_task_expansion(
        self, *, run_id: str, task_id: str, parameters: dict[str, Any], **kwargs: Any
    ) -> None:
        self.total = len(parameters)
        if self._report is not None:
            self._report(ExtractProgress(done=0, total=self.total))

    def run_after_task_return(
        self,
        *,
        nodes: list[Node],
        result: Any,
        success: bool,
        **kwargs: Any,
    ) -> None:
        if not success or not isinstance(result, dict) or UNIT_NODE not in result:
            return
        self.done += 1
        unit = result[UNIT_NODE]
        if self._report is not None and isinstance(unit, UnitEvidence):
            self._report(
                ExtractProgress(
                    done=self.done, total=self.total, unit=unit.unit_id, files=unit.files
                )
            )


class _UnitRouter(executors.ExecutionManager):
    """Units go to the remote executor, except when there is only one: a worker process would
    cost its start-up (seconds: a spawned child re-imports the parent's main module) for nothing.
    Everything else (scan, expand, collect) runs here, as in Hamilton's default manager.
    """

    def __init__(
        self,
        local: executors.TaskExecutor,
        remote: executors.TaskExecutor,
        hook: _ProgressHook,
    ) -> None:
        super().__init__([local, remote])
        self.local = local
        self.remote = remote
        self.hook = hook

    def get_executor_for_task(self, task: TaskImplementation) -> executors.TaskExecutor:
        if task.purpose == NodeGroupPurpose.EXECUTE_BLOCK and self.hook.total > 1:
            return self.remote
        return self.local


def extraction_driver(workers: int = 1, progress: ProgressFn | None = None) -> driver.Driver:
    """A dynamic-execution driver over `hamilton_flow` with the executors for `workers`."""
    # Imported here, not at module level: spawned workers import this module to unpickle the
    # progress hook, and `hamilton.driver` pulls in pandas and dask (≈ 1.5 s per worker).
    from hamilton import driver

    local = executors.SynchronousLocalTaskExecutor()
    remote: executors.TaskExecutor = SpawnProcessExecutor(workers) if workers > 1 else local
    hook = _ProgressHook(progress)
    return (
        driver.Builder()
        .enable_dynamic_execution(allow_experimental_mode=True)
        .with_modules(hamilton_flow)
        .with_execution_manager(_UnitRouter(local, remote, hook))
        .with_adapters(hook)
        .build()
    )


def hamilton_extract(
    root: str | os.PathLike[str],
    *,
    workers: int = 1,
    progress: ProgressFn | None = None,
    max_file_bytes: int | None = None,
    check_compile: bool | None = None,
    unit_bytes: int = DEFAULT_UNIT_BYTES,
    unit_max_files: int = DEFAULT_UNIT_MAX_FILES,
    use_git: bool = True,
) -> dict[str, pa.Table]:
    """Scan and extract a repository through the Hamilton flow (same tables as `extract_repo`)."""
    options = ScanOptions(
        max_file_bytes=max_file_bytes,
        check_compile=check_compile,
        unit_bytes=unit_bytes,
        unit_max_files=unit_max_files,
        use_git=use_git,
    )
    inputs = {"repo_root": str(Path(root).resolve()), "selection": Selection()}
    result = _run(inputs, {}, options, workers, progress, [SCAN_NODE])
    scan: ScanResult = result[SCAN_NODE]
    return with_scan_problems(result[OUTPUT].tables, scan.problems)


def hamilton_extract_files(
    scan: ScanResult,
    paths: Iterable[str],
    *,
    options: ScanOptions,
    workers: int = 1,
    progress: ProgressFn | None = None,
    by_file: bool = False,
) -> Evidence:
    """Extract only `paths` of an existing scan, in units cut from those files alone;
    `by_file`: every table sorted by file with its partition map, computed in the workers."""
    inputs = {"selection": Selection(frozenset(paths)), "by_file": by_file}
    return _run(inputs, {SCAN_NODE: scan}, options, workers, progress)[OUTPUT]


def _run(
    inputs: dict[str, Any],
    overrides: dict[str, Any],
    options: ScanOptions,
    workers: int,
    progress: ProgressFn | None,
    also: list[str] | None = None,
) -> dict[str, Any]:
    dr = extraction_driver(workers, progress)
    outputs: list[Any] = [OUTPUT, *(also or [])]
    if workers <= 1:
        return dr.execute(
            outputs,
            inputs={**inputs, "scan_options": options, "spill_dir": ""},
            overrides=overrides,
        )
    # Mapped pages stay valid after the files are unlinked, so the directory can go right away.
    with tempfile.TemporaryDirectory(prefix="cpg-extract-") as spill:
        return dr.execute(
            outputs,
            inputs={**inputs, "scan_options": options, "spill_dir": spill},
            overrides=overrides,
        )


__all__ = [
    "ScanOptions",
    "SpawnProcessExecutor",
    "extraction_driver",
    "hamilton_extract",
    "hamilton_extract_files",
]
